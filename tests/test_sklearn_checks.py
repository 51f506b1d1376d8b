"""scikit-learn's own estimator checks over both estimators, every one of them, with the known
failures declared (and reasoned) by nnet.sklearn.expected_failed_checks, as scikit-learn
declares its own."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from nnet.sklearn import NNetClassifier, NNetRegressor, expected_failed_checks  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# The defaults, with max_iter=100 as scikit-learn checks its own MLPs.
ESTIMATORS = [NNetClassifier(max_iter=100, random_state=0), NNetRegressor(max_iter=100, random_state=0)]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_checks(estimator, check):
    check(estimator)
