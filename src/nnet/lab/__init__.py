"""The web lab: draw a digit and watch every layer of your network light up.

``nnet lab [MODEL]`` serves a page on 127.0.0.1 (a free port unless ``--port``) with five views:

- **Draw**: draw a digit; the server preprocesses it as ``nnet predict`` does
  (:func:`nnet.images.to_mnist`) and the page shows the 28x28 input, every layer's neurons lit by
  their activations (between small layers, every connection: colour = sign, thickness = |w|), the
  outputs as they are (softmax: probabilities; sigmoid: not) with an "I don't know" threshold,
  and, for a neuron you point at, its incoming weights (the pixel pattern it picks up on), which
  inputs raised its z, and the test digits that excite it most.
- **Test digits**: the MNIST test digits (at random, by class, or only the model's mistakes) in
  the same view.
- **Teach**: backpropagation on a copy of the model: one example's cost, target, δ and desired
  nudges on every neuron, a neuron's desired weight changes; one step of gradient descent, undo,
  reset; weights edited by hand; ten examples' desired changes and their average, the negative
  gradient.
- **Train**: train a network on the server (any output, cost and initialisation the library
  offers, the lessons' preset, or the current model to go on training) and watch its cost,
  accuracy, each layer's gradient size and the first-layer weight tiles (or their change since
  the start) live; pause it, step it one minibatch at a time, change its learning rate. Every run
  is kept with a health verdict; Draw and Test digits use a run's network when you choose it
  (and ``--save PATH`` lets the page save the current model to that server-side file).
- **Inside**: layer health (dead and saturated neurons, histograms, gradient sizes), a 2-D map of
  each layer's activations over the test digits, and calibration (how sure against how right).

The page works on phones (one column, neurons big enough to tap, drawing by finger) and from the
keyboard (tabs and neurons reached with Tab and the arrow keys; the answer is announced).

From Python::

    from nnet.lab import create_app
    app = create_app(nnet.load("model.safetensors"))    # any ASGI server can run it

Modules: ``app`` (the routes, HTTP safety), ``state`` (the served model, data and runs),
``explain`` (the network as JSON: layers, forward passes, weights), ``teach`` (one example's
backpropagation, ten examples' average, the sandbox), ``weights`` (connections, weight tiles),
``health`` (dead and saturated neurons, the verdict on a network), ``maps`` (activation maps, top
digits, calibration), ``learning_routes`` (their routes), ``control`` (pausing and steering a
run), ``shelf`` (the session's finished runs), ``payloads`` (checking what clients send), ``training`` (the background run), ``events`` (its bounded event log),
``metadata`` (what a model trained here says about itself: what ``nnet train`` writes),
``server`` (socket, uvicorn), ``static/`` (the page: HTML, CSS, JavaScript; no build step,
nothing from the network).

The JSON API (the page uses nothing else; ``GET /api`` lists it)
-----------------------------------------------------------------

Bodies are JSON sent with ``Content-Type: application/json``. Errors are ``{"error": "what was
expected and what came"}`` with a 4xx status: 400 a body that is not JSON (NaN and Infinity
included) or a request for another host name, 403 a POST from another site (its Origin), 404 a
layer, neuron, digit, run or route that does not exist, 409 a training run already going (or
none to stop, or no ``--save``), 410 the events of a run before the latest (not kept), 413 a
body over 512 KiB (refused before it is read in full), 415 a body not sent as JSON, 422 a field
of the wrong type, shape or range, or an input on which the network overflows (infinite or NaN
activations).
Layers are the Dense layers, indexed from 0 as in model files: 0 is the first hidden layer, the
last is the output layer. Responses list them, so any depth works. ``version`` counts the models
served (a training run that ends swaps in a new one).

``GET /api/model``
    ``{"version", "source", "trained", "input": {"size": 784, "shape": [28, 28]}, "layers":
    [{"index", "name", "size", "inputs", "activation", "range", "parameters"}], "classes",
    "cost", "parameters", "summary": {saved_at, scores, training, epochs_trained, ...}}``
``POST /api/predict``
    Body: ``{"width": W, "height": H, "pixels": base64}`` (W*H gray bytes, or W*H*C bytes with
    ``"channels": C``), or ``{"image": "data:image/png;base64,..."}``, or ``{"input": [784
    numbers in 0..1]}``. Returns ``{"version", "input": [784 values in 0..1], "layers": [{"index",
    "name", "size", "activation", "range", "z": [...], "a": [...]}], "probabilities", "prediction",
    "label", "ms"}``.
``GET /api/neuron/{layer}/{index}``
    ``{"layer", "index", "name", "activation", "inputs_from", "shape" ([28, 28] for layer 0,
    else [n_in]), "weights", "bias", "abs_max"}``; 404 for a layer or neuron out of range.
``GET /api/digits?mode=random|index|class|mistakes``
    A test digit and the model's forward pass: ``index=i`` for mode index, ``class=k`` for mode
    class; ``position=p`` picks the p-th digit of the chosen set (wrapping), else a random one.
    Returns ``{"index", "label", "label_name", "position", "count", "pixels" (784 ints),
    "correct", "prediction": <as /api/predict>}``.
``GET /api/train``
    ``{"state": idle|running|done|stopped|error, "running", "run" (with ``controls``: paused,
    learning_rate, gradient_sizes), "previous" (the summary of the run before), "runs" (the
    session's finished runs, as ``GET /api/runs``), "served_run", "presets", "defaults",
    "limits", "save"}``.
``POST /api/train``
    Body (every key optional; named as ``nnet train``'s options): ``{"hidden": [128],
    "activation": "relu", "output": "softmax", "cost": "cross_entropy", "init": "auto",
    "optimizer": "momentum", "learning_rate": 0.1, "epochs": 3, "batch_size": 64, "lr_schedule":
    "cosine", "train_size": 60000, "seed": 0}``, or ``"continue": true`` to go on training (a copy
    of) the served model, whose shape then replaces the shape settings. 202 ``{"run",
    "events"}``; 409 while a run is going. The model it makes carries the metadata ``nnet train``
    writes (:func:`nnet.runs.metadata`).
``GET /api/train/events?run=ID``
    Server-sent events of the latest run (410 for an earlier one), from its start: ``start``,
    ``progress`` (epoch, batch, position in epochs, cost, accuracy, learning_rate,
    gradient_sizes, paused), ``epoch`` (train and test cost and accuracy), ``weights`` (layer 0's
    weight tiles on one common scale as int8 base64, and their change since the run began), and
    last ``done``, ``stopped`` or ``error``, with ``kept`` (the run as the lab keeps it: verdict,
    and ``served``). A long run's progress is thinned to about a thousand points, and only its
    latest weights are sent (:mod:`nnet.lab.events`). See :mod:`nnet.lab.training`.
``POST /api/train/stop``
    Stops the run after its current batch (409 if none is going). Its network is kept.
``POST /api/train/pause``, ``/resume``, ``/step`` (``{"batches": n}``), ``/learning_rate`` (``{"learning_rate": η}``)
    Steer the running run (409 if none is going): hold it after its current minibatch, let it go
    on, let n more minibatches through, or change its learning rate from the next minibatch on.
    Each returns its controls' status.
``GET /api/runs``
    ``{"runs": [{"run", "state", "settings", "sizes", "scores", "verdict" ({"healthy", "flags":
    [{"kind", "layer", "why"}], "accuracy", "probe"}), "error", "available", "last_learning_rate",
    "finished"}], "served_run", "version"}``: every finished run of this session, kept. A run
    never replaces the served model by itself, unless the served one is the untrained default and
    the run is healthy.
``POST /api/runs/{run}/use``
    Serve that run's network (404 if there is no such run or its network was let go).
``POST /api/model/save``
    Saves the served model to the ``--save`` file (409 if the lab was started without one).

Teaching: backpropagation on the sandbox (:mod:`nnet.lab.teach`, :mod:`nnet.lab.learning_routes`)
---------------------------------------------------------------------------------------------------

The sandbox is a copy of the served model (without dropout) that these routes may change; the
served model never changes. When the lab serves another model, the sandbox starts again from it
and the next response says so in ``sandbox.restarted``.

``POST /api/backprop``
    Body: an input as ``/api/predict`` takes it, or ``{"digit": i}`` (a test digit; ``"set":
    "train"`` for a training one), with ``"label"``: the answer it should give (a digit's own
    label by default), and optionally ``"neurons": [[layer, index], ...]`` (up to 8). Returns
    ``{"sandbox", "cost" (this example's C), "cost_name", "target", "output", "answer",
    "answer_name", "label", "label_name", "input", "layers": [{"index", "name", "size",
    "activation", "range", "z", "a", "delta" (∂C/∂z), "nudge" (the desired change of a: y - a for
    the outputs, -∂C/∂a for hidden layers)}], "gradients": [{"layer", "index", "shape", "weights"
    (∂C/∂w of its incoming weights), "bias", "abs_max"}]}``. 404 for a neuron that does not exist.
``POST /api/backprop/step``
    The example as above (or ``"examples"``/``"count"`` as below) and ``"learning_rate"`` in
    (0, 100]: one step of gradient descent, ``w ← w - η ∂C/∂w``, on the sandbox. Returns the
    sandbox's status with ``"before"`` and ``"after"`` (each example's output), ``"cost_before"``,
    ``"cost_after"``; 422 (and the step undone) if it made the network overflow.
``POST /api/backprop/batch``
    ``{"examples": [{"set": "train"|"test", "index": i}, ...]}`` (1 to 20) or ``{"count": n,
    "seed": s}`` (random training digits), with ``"layer"`` and ``"neuron"``: each example's desired
    change of that neuron's incoming weights (-∂C_x/∂w, with its ``set``, ``index``, ``label``,
    ``pixels``, ``cost``, ``answer`` and ``outputs`` = y - a) and their ``average``: the negative
    gradient of their mean cost.
``GET /api/sandbox``; ``POST /api/sandbox/undo`` (409 if nothing to undo); ``POST /api/sandbox/reset``
    The sandbox's ``{"version", "based_on", "steps", "edits", "undo" (what can be undone, latest
    first)}``.
``POST /api/sandbox/weight``
    ``{"layer", "neuron", "source" (the neuron of the layer below; null for the bias), "value"
    (in [-100, 100])}``: sets one weight; returns ``"old"`` and ``"new"``.

Looking inside (:mod:`nnet.lab.weights`, :mod:`nnet.lab.health`, :mod:`nnet.lab.maps`)
--------------------------------------------------------------------------------------

Each takes ``?model=served`` (the default) or ``?model=sandbox`` and answers with ``"model"`` and
``"version"`` besides its own keys.

``GET /api/links/{layer}``
    A small layer's ``weights`` (n_out rows of n_in) and ``biases``, for drawing its connections;
    422 for a layer of more than 32 neurons on a side.
``GET /api/health``
    ``{"healthy", "flags": [{"kind": diverged|dead|saturated|guessing, "layer", "why"}],
    "accuracy", "probe", "layers": [{"dead", "saturated", "gradient_size", "weights",
    "activations", "gradients" (histograms: edges, counts)}]}`` on the first 1,000 test digits.
``GET /api/map?layer=l&count=n&method=pca|tsne``
    The first n test digits placed in 2-D by layer l's activations (-1: the pixels): ``points``
    (in -1..1), ``labels``, ``indices``, ``explained``, ``separation`` (the share closest to their
    own class's centre), ``methods`` (t-SNE needs scikit-learn).
``GET /api/neuron/{layer}/{index}/top?count=n``
    The test digits that excite the neuron most: ``indices``, ``activations``, ``labels``, ``pixels``.
``GET /api/calibration``
    How sure against how right on the test digits: ``bins``, ``expected_error``, ``thresholds``
    (for each "I don't know" threshold, the share answered and their accuracy), ``confidence_from``.
"""

from .app import API, create_app

__all__ = ["API", "create_app"]
