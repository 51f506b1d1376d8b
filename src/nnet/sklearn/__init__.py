"""nnet's network as scikit-learn estimators: ``from nnet.sklearn import NNetClassifier, NNetRegressor``.

They take MLPClassifier's and MLPRegressor's parameters under the same names and defaults, so
switching is changing an import, and they work in ``Pipeline``, ``GridSearchCV``,
``cross_val_score`` and ``clone``. Their defaults are made for tables (100 ReLU neurons, Adam at
0.001, minibatches of up to 200 rows, up to 200 epochs stopped by ``tol``), unlike
``nnet.Network``'s, which are the lessons' (sigmoid, quadratic cost, plain SGD).

What differs from scikit-learn's MLP, and why:

=======================  ==========================================================================
scikit-learn             nnet.sklearn
=======================  ==========================================================================
StandardScaler first     not needed: numbers are standardised inside, text columns one-hot encoded,
                         missing cells imputed (median, most frequent), all learned at fit
                         (``preprocessing_``) and kept with ``network_`` in a model file
solver="lbfgs"           not offered (nnet trains by minibatches); "adamw" is
learning_rate            "constant", "adaptive" as scikit-learn's; nnet's "cosine" and "step" too;
                         "invscaling" and power_t are not offered
alpha                    the same penalty: nnet's weight decay alpha / batch_size, on the weights
verbose, max_fun         not offered (nnet never prints; no lbfgs)
(none)                   dropout, dtype ("float64" default, "float32"); the regressor's ``loss``
                         also takes "absolute_error" and "huber"
binary output            a softmax over the 2 classes (scikit-learn: one logistic neuron)
regression targets       standardised inside, predictions turned back into their units
=======================  ==========================================================================

scikit-learn's own estimator checks pass (``tests/test_sklearn_checks.py`` runs
``parametrize_with_checks``), but for the ones listed, with reasons, in
:func:`expected_failed_checks`.
"""

from __future__ import annotations

from ._estimators import NNetClassifier, NNetRegressor

__all__ = ["NNetClassifier", "NNetRegressor", "expected_failed_checks"]

_SAMPLE_WEIGHT = ("minibatch gradient descent: rows repeated k times fall into other minibatches than "
                  "one row of weight k, so the two fits take different paths (scikit-learn's own MLPs "
                  "are checked with settings chosen for it: lbfgs, or sgd with tol=1e-2)")


def expected_failed_checks(estimator) -> dict[str, str]:
    """The scikit-learn estimator checks these estimators are known to fail, with the reason for
    each: pass it to ``parametrize_with_checks(..., expected_failed_checks=...)`` (as
    scikit-learn declares its own estimators' expected failures)."""
    return {"check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT}
