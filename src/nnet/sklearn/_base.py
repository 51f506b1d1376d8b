"""What NNetClassifier and NNetRegressor share: the parameters, the checks, and the training run.

A fit, in order: the table is checked (scikit-learn's ``validate_data`` for the feature count and
names; DataFrames keep their categorical columns) and, on a fresh start, the preprocessing is
learned from it (:class:`nnet.preprocessing.Preprocessing`: impute, standardise, one-hot) and the
network and its trainer are built. Then the trainer runs, under :class:`_Convergence`, scikit-
learn's stopping rule (``tol``, ``n_iter_no_change``, ``early_stopping`` on a held-out, stratified
``validation_fraction`` scored by ``score``'s metric). ``warm_start`` and ``partial_fit`` keep the
network, the preprocessing and the optimizer's state (Adam's moments, the velocity), and continue.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import checks, data, optimizers
from ..network import Network
from ..preprocessing import Preprocessing
from ..tables import as_table
from ..training import Callback, Trainer

#: scikit-learn's activation names, and nnet's own, for ``activation``.
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
               "leaky_relu": "leaky_relu"}
#: ``learning_rate``: scikit-learn's constant and adaptive, and nnet's schedules.
SCHEDULES = ("constant", "adaptive", "cosine", "step")
#: ``batch_size="auto"`` is min(AUTO_BATCH, n_samples), as scikit-learn's.
AUTO_BATCH = 200
#: Networks with fewer parameters than this train in one thread: for a table's small matrix
#: products, a second thread costs more than it brings (digits: 0.5 s against 1.8 s for 50
#: epochs on the 2-core machine of benchmarks/README.md).
ONE_THREAD_BELOW = 100_000
#: ``learning_rate="adaptive"`` divides the rate by this when training stops improving, down to
#: ADAPTIVE_FLOOR (scikit-learn's rule).
ADAPTIVE_DIVISOR, ADAPTIVE_FLOOR = 5.0, 1e-6


class NNetEstimator(BaseEstimator):
    """The shared part; see :class:`nnet.sklearn.NNetClassifier` for the parameters."""

    _task = ""

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and y; returns self. ``sample_weight`` (n_samples,):
        how much each row counts in the cost (its weighted mean over a minibatch)."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental: bool, classes=None):
        self._check_parameters()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        fresh = not hasattr(self, "network_") or not (incremental or self.warm_start)
        table = self._table(X, reset=fresh)
        targets, labels = self._targets(y, len(table), fresh, classes)
        weights = self._weights(sample_weight, table, labels)
        if fresh:
            self._start(table, targets)
        x = self.preprocessing_.inputs(table, self.network_.dtype)
        if self._task == "regression":
            targets = self.preprocessing_.targets(targets)
        validation = None
        if self.early_stopping and not incremental:
            kept, held = data.shuffled_split(len(x), self.validation_fraction, np.random.default_rng(self._seeds[1]),
                                             labels, name="validation_fraction")
            validation = (x[held], targets[held])
            x, targets = x[kept], targets[kept]
            weights = None if weights is None else weights[kept]
        self._train(x, targets, weights, validation, epochs=1 if incremental else self.max_iter, incremental=incremental)
        return self

    def _start(self, table, targets) -> None:
        """Learn the preprocessing and build a fresh network and trainer."""
        regression = self._task == "regression"
        self.preprocessing_ = Preprocessing.learn(table, targets if regression else None, self._target_names())
        self._seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=2)
        n_outputs = targets.shape[1] if regression else len(self.classes_)
        sizes = [self.preprocessing_.n_inputs, *self._hidden(), n_outputs]
        self.network_ = Network(sizes, activation=ACTIVATIONS[self.activation],
                                output="identity" if regression else "softmax", cost=self._cost(),
                                dropout=self.dropout, seed=int(self._seeds[0]), dtype=self.dtype,
                                task=self._task)
        self.network_.metadata = self._metadata()
        self._trainer = Trainer(self.network_, self._optimizer(len(table)), epochs=1, batch_size=1,
                                lr_schedule="constant" if self.learning_rate == "adaptive" else self.learning_rate,
                                seed=int(self._seeds[1]), shuffle=self.shuffle)
        self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
        self.best_loss_ = np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._no_improvement = 0

    def _train(self, x, targets, weights, validation, epochs: int, incremental: bool) -> None:
        trainer = self._trainer
        batch_size = min(AUTO_BATCH, len(x)) if self.batch_size == "auto" else min(self.batch_size, len(x))
        trainer.batch_size = batch_size
        trainer.epochs = trainer.next_epoch + epochs
        watch = _Convergence(self, validation, stop=not incremental)
        trainer.callbacks = [watch]
        trainer.threads = 1 if self.network_.n_parameters < ONE_THREAD_BELOW else None
        trainer.run(x, targets, sample_weight=weights)
        if watch.best_parameters is not None:  # early stopping keeps the best validation epoch
            np.copyto(self.network_.parameters, watch.best_parameters)
        self.t_ += len(x) * watch.epochs
        if not incremental and not watch.converged:
            warnings.warn(f"{type(self).__name__}: stopped after max_iter={self.max_iter} epochs without "
                          f"converging (tol={self.tol}); raise max_iter, or learning_rate_init", ConvergenceWarning)

    # -- the parts ------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        checks.choice("activation", self.activation, list(ACTIVATIONS))
        checks.choice("solver", self.solver, ["sgd", "adam", "adamw"])
        checks.choice("learning_rate", self.learning_rate, list(SCHEDULES))
        checks.positive_int("max_iter", self.max_iter)
        checks.positive_int("n_iter_no_change", self.n_iter_no_change)
        checks.number("alpha", self.alpha, minimum=0.0)
        checks.number("tol", self.tol, minimum=0.0)
        checks.number("validation_fraction", self.validation_fraction, minimum=0.0, maximum=1.0, open_min=True, open_max=True)
        if self.batch_size != "auto":
            checks.positive_int("batch_size", self.batch_size)
        self._hidden()

    def _hidden(self) -> list[int]:
        sizes = [self.hidden_layer_sizes] if isinstance(self.hidden_layer_sizes, numbers.Integral) else self.hidden_layer_sizes
        try:
            return [checks.positive_int("a hidden layer size", size) for size in sizes]
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be a tuple of layer sizes such as (100,); got {sizes!r}") from None

    def _optimizer(self, n_samples: int) -> optimizers.Optimizer:
        """scikit-learn's solver settings as an nnet optimizer. ``alpha`` is scikit-learn's L2
        strength: its penalty ½ alpha ‖W‖² is divided by the batch's rows, so nnet's weight decay
        (added to the gradient of the batch mean) is alpha / batch_size."""
        batch = min(AUTO_BATCH if self.batch_size == "auto" else self.batch_size, n_samples)
        decay = self.alpha / batch
        if self.solver == "sgd":
            name = "sgd" if self.momentum == 0 else ("nesterov" if self.nesterovs_momentum else "momentum")
            momentum = None if self.momentum == 0 else self.momentum
            return optimizers.get(name, learning_rate=self.learning_rate_init, momentum=momentum, weight_decay=decay)
        return optimizers.get(self.solver, learning_rate=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                              epsilon=self.epsilon, weight_decay=decay)

    def _table(self, X, reset: bool):
        """X checked by scikit-learn's rules (feature count and names), as an nnet Table."""
        if hasattr(X, "columns") and hasattr(X, "dtypes"):  # a DataFrame keeps its column kinds
            validate_data(self, X, reset=reset, skip_check_array=True)
            if not len(X):
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            table = as_table(X)
        else:
            X = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False, ensure_min_samples=1)
            if X.dtype.kind not in "fiubO":
                X = X.astype(object)
            table = as_table(X, self._column_names(X.shape[1]))
        if reset:
            self._names = table.names
        elif table.names != self._names:  # a DataFrame whose names differ already warned; go by position
            table.columns = [type(column)(name, column.kind, column.values, column.categories)
                             for name, column in zip(self._names, table.columns)]
        return table

    def _column_names(self, width: int) -> list[str]:
        names = getattr(self, "_names", None)
        if names is not None and len(names) == width:
            return names
        return [str(name) for name in getattr(self, "feature_names_in_", [f"x{j}" for j in range(width)])]

    def _weights(self, sample_weight, table, labels) -> np.ndarray | None:
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, np.empty((len(table), 0)))
        return weights

    def _metadata(self) -> dict:
        """What a model file saved from ``network_`` says: the preprocessing and the answers."""
        meta = {"preprocessing": self.preprocessing_.describe(),
                "input": {"shape": [self.preprocessing_.n_inputs], "preprocessing": "table",
                          "features": self.preprocessing_.input_names}}
        if self._task == "classification":
            meta["classes"] = [str(label) for label in self.classes_]
        else:
            meta["targets"] = list(self.preprocessing_.target["names"])
        return meta

    def _outputs(self, X) -> np.ndarray:
        """The network's output activations for X, float64 (n, n_outputs)."""
        check_is_fitted(self, "network_")
        x = self.preprocessing_.inputs(self._table(X, reset=False), self.network_.dtype)
        return self.network_.forward(x).astype(np.float64)

    # -- scikit-learn's view of the estimator -----------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing cells are imputed
        tags.input_tags.string = True  # text columns are one-hot encoded
        tags.input_tags.categorical = True
        return tags

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weights, scikit-learn's way: layer i's as (n_in, n_out), a copy of its W.T."""
        check_is_fitted(self, "network_")
        return [layer.W.T.copy() for layer in self.network_.layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        check_is_fitted(self, "network_")
        return [layer.b.copy() for layer in self.network_.layers]

    def __setstate__(self, state):
        super().__setstate__(state)
        if "network_" in state:  # a pickled network's W and b are copies: make them views again
            optimizer = self._trainer.optimizer
            saved = optimizer.state_dict()
            self.network_._bind_parameters()
            optimizer.bind(self.network_.parameters, self.network_.gradients, self.network_.n_decayed)
            optimizer.load_state_dict(saved)


class _Convergence(Callback):
    """scikit-learn's stopping rule, epoch by epoch: without early stopping, stop after
    ``n_iter_no_change`` epochs whose training cost is not ``tol`` below the best; with it, the
    same on the validation score, keeping the best epoch's parameters. ``learning_rate=
    "adaptive"`` divides the rate by 5 instead of stopping, until it falls under 1e-6."""

    def __init__(self, estimator: NNetEstimator, validation, stop: bool):
        self.estimator, self.validation, self.stop = estimator, validation, stop
        self.best_parameters = None
        self.converged = False
        self.epochs = 0

    def on_epoch_end(self, state) -> None:
        estimator = self.estimator
        self.epochs += 1
        estimator.n_iter_ += 1
        cost = state.record.train_cost
        estimator.loss_curve_.append(cost)
        if self.validation is not None:
            score = estimator._validation_score(*self.validation)
            estimator.validation_scores_.append(score)
            improved = score > estimator.best_validation_score_ + estimator.tol
            if score > estimator.best_validation_score_:
                estimator.best_validation_score_ = score
                self.best_parameters = state.network.parameters.copy()
        else:
            improved = cost < estimator.best_loss_ - estimator.tol
            estimator.best_loss_ = min(estimator.best_loss_, cost)
        estimator._no_improvement = 0 if improved else estimator._no_improvement + 1
        if not self.stop or estimator._no_improvement <= estimator.n_iter_no_change:
            return
        trainer = state.trainer
        if estimator.learning_rate == "adaptive" and trainer.base_learning_rate > ADAPTIVE_FLOOR:
            trainer.base_learning_rate /= ADAPTIVE_DIVISOR
            estimator._no_improvement = 0
            return
        self.converged = True
        state.stop_training = True
