"""The activation x cost grid that the gradient checks and the PyTorch oracle both cover."""

#: Every hidden activation.
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
#: Every output activation with the costs it pairs with.
OUTPUT_COSTS = [
    ("sigmoid", "quadratic"),
    ("tanh", "quadratic"),
    ("identity", "quadratic"),
    ("softmax", "quadratic"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "cross_entropy"),
]
OUTPUT_COST_IDS = [f"{output}-{cost}" for output, cost in OUTPUT_COSTS]
