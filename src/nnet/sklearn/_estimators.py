"""NNetClassifier and NNetRegressor: nnet's network as scikit-learn estimators."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_array, column_or_1d

from ..losses import REGRESSION_COSTS
from ._base import NNetEstimator

#: ``loss`` of the regressor: scikit-learn's names (and nnet's) for nnet's regression costs.
REGRESSION_LOSSES = {"squared_error": "quadratic", "absolute_error": "mae", "huber": "huber",
                     **{name: name for name in REGRESSION_COSTS}}

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Neurons in each hidden layer.
    activation : {"relu", "tanh", "logistic" (or "sigmoid"), "leaky_relu", "identity"}, default="relu"
        σ of the hidden layers.
    solver : {"adam", "sgd", "adamw"}, default="adam"
        The optimizer. "sgd" uses ``momentum`` (Nesterov's if ``nesterovs_momentum``), as
        scikit-learn's. "lbfgs" is not offered: nnet trains by minibatches.
    alpha : float, default=1e-4
        L2 penalty, scikit-learn's: ½ alpha ‖W‖² per batch of rows, i.e. nnet weight decay
        alpha / batch_size on the weights (not the biases).
    batch_size : int or "auto", default="auto"
        Rows per minibatch; "auto" is min(200, n_samples).
    learning_rate : {"constant", "adaptive", "cosine", "step"}, default="constant"
        The schedule: scikit-learn's "constant" and "adaptive" (divide by 5 whenever
        ``n_iter_no_change`` epochs fail to improve by ``tol``), or nnet's "cosine" and "step".
    learning_rate_init : float, default=0.001
    max_iter : int, default=200
        At most this many epochs (each a pass over the rows).
    shuffle : bool, default=True
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the shuffling and the validation split.
    tol : float, default=1e-4
    warm_start : bool, default=False
        A new ``fit`` continues from the network, preprocessing and optimizer state it has.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for a classifier), stop when
        their score has not risen by ``tol`` for ``n_iter_no_change`` epochs, and keep the best.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's.
    n_iter_no_change : int, default=10
    dropout : float, default=0.0
        nnet's: the dropout rate of the hidden layers while training.
    dtype : {"float64", "float32"}, default="float64"
        nnet's: the network's floats (float64 as scikit-learn's, so a row's prediction does not
        depend on the batch it comes in; float32 is faster on large tables).
"""

_ATTRIBUTES = """
    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X had column names (a DataFrame)
    network_ : nnet.Network
        The trained network; ``nnet.save(estimator.network_, path)`` keeps it with its
        preprocessing (``network_.metadata["preprocessing"]``) for ``nnet predict``.
    preprocessing_ : nnet.preprocessing.Preprocessing
        What was learned from the training rows: medians and most frequent categories for
        missing cells, means and scales, categories one-hot encoded.
    loss_curve_ : list of float
        The training cost of each epoch (without the L2 term).
    n_iter_ : int
        Epochs run, over every fit when warm-starting.
    best_loss_ : float; validation_scores_, best_validation_score_ : with early stopping.
    t_ : int
        Rows seen in training.
    coefs_, intercepts_ : list of ndarray
        The weights (n_in, n_out) and biases of each layer, as scikit-learn keeps them.
"""


class NNetClassifier(ClassifierMixin, NNetEstimator):
    """A feed-forward network classifier with scikit-learn's interface and MLPClassifier's
    parameter names: switching is changing an import.

    The inputs are preprocessed inside (see ``preprocessing_``), so a table with text columns
    and missing cells goes in as it is, and no StandardScaler is needed. The output layer is a
    softmax over the classes, trained with cross-entropy.
    """ + _PARAMETERS + """    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``; "balanced" weighs each class by
        n_samples / (n_classes * its count).
""" + _ATTRIBUTES + """    classes_ : ndarray
        The class labels, sorted.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from nnet.sklearn import NNetClassifier
    >>> X, y = load_wine(return_X_y=True)
    >>> NNetClassifier(random_state=0).fit(X, y).score(X, y) > 0.95
    True
    """

    _task = "classification"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 class_weight=None, dropout=0.0, dtype="float64"):
        self.hidden_layer_sizes, self.activation, self.solver, self.alpha = hidden_layer_sizes, activation, solver, alpha
        self.batch_size, self.learning_rate, self.learning_rate_init = batch_size, learning_rate, learning_rate_init
        self.max_iter, self.shuffle, self.random_state, self.tol = max_iter, shuffle, random_state, tol
        self.warm_start, self.momentum, self.nesterovs_momentum = warm_start, momentum, nesterovs_momentum
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.beta_1, self.beta_2, self.epsilon, self.n_iter_no_change = beta_1, beta_2, epsilon, n_iter_no_change
        self.class_weight, self.dropout, self.dtype = class_weight, dropout, dtype

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from where the estimator is. The first call must
        name every class with ``classes``."""
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit: every label y may hold")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """The probability of each class (columns in the order of ``classes_``), (n_samples, n_classes)."""
        return self._outputs(X)

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row, (n_samples,), labels from ``classes_``."""
        best = self.predict_proba(X).argmax(axis=1)
        return self.classes_[best]

    def _targets(self, y, n: int, fresh: bool, classes):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) != n:
            raise ValueError(f"X has {n} rows but y has {len(y)} labels; expected one label per row")
        if fresh:
            self.classes_ = unique_labels(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"a classifier needs samples of at least 2 classes; got 1 class ({self.classes_[0]!r})")
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y holds the label {unknown[0]!r}, which is not one of classes_ {self.classes_.tolist()}")
        labels = np.searchsorted(self.classes_, y)
        return labels, labels

    def _weights(self, sample_weight, table, labels):
        weights = super()._weights(sample_weight, table, labels)
        if self.class_weight is None:
            return weights
        k = len(self.classes_)
        if isinstance(self.class_weight, str):
            if self.class_weight != "balanced":
                raise ValueError(f"class_weight must be a dict, 'balanced' or None; got {self.class_weight!r}")
            counts = np.bincount(labels, minlength=k).astype(np.float64)
            per_class = np.divide(len(labels), k * counts, out=np.zeros(k), where=counts > 0)
        elif isinstance(self.class_weight, dict):
            per_class = np.ones(k)
            for label, weight in self.class_weight.items():
                where = np.flatnonzero(self.classes_ == label)
                if not where.size:
                    raise ValueError(f"class_weight names the class {label!r}, which is not one of {self.classes_.tolist()}")
                per_class[where[0]] = weight
        else:
            raise ValueError(f"class_weight must be a dict, 'balanced' or None; got {self.class_weight!r}")
        row_weights = per_class[labels]
        return row_weights if weights is None else weights * row_weights

    def _cost(self) -> str:
        return "cross_entropy"

    def _target_names(self):
        return None

    def _validation_score(self, x, labels) -> float:
        return float(np.mean(self.network_.forward(x).argmax(axis=1) == labels))


class NNetRegressor(RegressorMixin, NNetEstimator):
    """A feed-forward network regressor with scikit-learn's interface and MLPRegressor's
    parameter names: switching is changing an import.

    The inputs are preprocessed inside (see ``preprocessing_``), and so are the targets: each
    is standardised for training and the predictions turned back into its units. One output
    neuron per target (identity activation).
    """ + _PARAMETERS + """    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        The cost (nnet's quadratic, mae, huber); Huber's threshold is 1 standard deviation of
        the target.
""" + _ATTRIBUTES + """
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from nnet.sklearn import NNetRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> NNetRegressor(random_state=0, max_iter=50).fit(X, y).score(X, y) > 0.4
    True
    """

    _task = "regression"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 loss="squared_error", dropout=0.0, dtype="float64"):
        self.hidden_layer_sizes, self.activation, self.solver, self.alpha = hidden_layer_sizes, activation, solver, alpha
        self.batch_size, self.learning_rate, self.learning_rate_init = batch_size, learning_rate, learning_rate_init
        self.max_iter, self.shuffle, self.random_state, self.tol = max_iter, shuffle, random_state, tol
        self.warm_start, self.momentum, self.nesterovs_momentum = warm_start, momentum, nesterovs_momentum
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.beta_1, self.beta_2, self.epsilon, self.n_iter_no_change = beta_1, beta_2, epsilon, n_iter_no_change
        self.loss, self.dropout, self.dtype = loss, dropout, dtype

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from where the estimator is."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The predicted values in the targets' units: (n_samples,) for one target, else
        (n_samples, n_targets)."""
        outputs = self._outputs(X)
        return self.preprocessing_.values(outputs)

    def _targets(self, y, n: int, fresh: bool, classes):
        names = getattr(y, "columns", None)
        names = [getattr(y, "name", None)] if names is None else list(names)
        self._names_of_targets = [str(name) for name in names] if None not in names else None
        y = check_array(y, ensure_2d=False, dtype="numeric", ensure_all_finite=True, input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if len(y) != n:
            raise ValueError(f"X has {n} rows but y has {len(y)} values; expected one per row")
        values = y.reshape(n, -1).astype(np.float64)
        if not fresh and values.shape[1] != self.network_.n_outputs:
            raise ValueError(f"y has {values.shape[1]} targets; the network was fitted on {self.network_.n_outputs}")
        return values, None

    def _cost(self) -> str:
        if self.loss not in REGRESSION_LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of: {', '.join(REGRESSION_LOSSES)}")
        return REGRESSION_LOSSES[self.loss]

    def _target_names(self):
        """A Series' name, a DataFrame's column names, or None (y0, y1, ...)."""
        return self._names_of_targets

    def _validation_score(self, x, targets) -> float:
        from ..metrics import r2

        return r2(targets, self.network_.forward(x))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
