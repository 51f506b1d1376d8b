"""Every resource bound of nnet, in one place, with the reason for each.

A model file, a dataset, an image or a request to the lab may claim any size: a header of a
terabyte, a layer of two billion neurons, a label of ten million, a picture of a gigapixel. nnet
allocates nothing at a size something merely claims: each claim is checked first against what
the bytes really hold, and against the bounds below. They are what real use needs, with room to
spare; beyond them a claim is taken for damage (or hostility) and refused with one line that
names the bound. Raising one is a change to this file, made on purpose, with its reason.

What a hostile input can cost before it is refused: for a file under 1 MB, under
``MAX_MEMORY_FOR_SMALL_FILES`` (tests/test_fuzz_files.py measures it).
"""

from __future__ import annotations

MiB = 1 << 20

# -- model files (nnet._safetensors, nnet.serialization) ----------------------------------------

#: The largest JSON header of a model file. A description is a few KB; the history it keeps adds
#: about 220 bytes an epoch, so 8 MiB holds 36,000 epochs. Python turns JSON into objects of up
#: to ~26 times its size ([{}, {}, ...]), so this also bounds what a hostile header can cost:
#: ~210 MB (measured: tests/test_container.py). The old bound, 100 MB, let a 42 MB file cost 1 GB.
MAX_HEADER_BYTES = 8 * MiB

#: The most dimensions a stored tensor may have. nnet writes 1 (biases, optimizer state) and 2
#: (weights); a convolution's kernels would have 4. NumPy itself stops at 64.
MAX_TENSOR_DIMENSIONS = 8

# -- networks (a layer list from a file, ``nnet train --hidden``, the lab) ----------------------

#: The most parameters (weights and biases) a network may have: 2**27 is 512 MiB of float32,
#: and training keeps as much again for the gradient and up to twice more for the optimizer
#: (Adam's m and v): 2 GiB in all, the most a feed-forward network on NumPy is sensibly given.
#: ``--hidden 99999999`` asks for 78 billion.
MAX_PARAMETERS = 1 << 27

# -- datasets (nnet.datasets) -------------------------------------------------------------------

#: The most classes a dataset may have: one output neuron each. The largest common label set,
#: ImageNet's, has 1,000 (MNIST 10, EMNIST 62, CIFAR-100 100, Quick, Draw! 345). Training holds
#: the one-hot targets of the whole set, n x classes floats: 60,000 rows x 1,000 classes is
#: already 240 MB. A label of 2,000,000,000 in a 20-row CSV asks for that many neurons.
MAX_CLASSES = 1000

#: How much larger than its compressed bytes a stream (a .gz IDX file, an npz member) may say
#: it is, beyond ``COMPRESSED_FLOOR_BYTES``. Image datasets compress 3 to 8 times with deflate
#: (MNIST: 5); deflate itself can reach 1032, so a 1 MB file of zeros could make nnet fill 1 GB
#: before it finds the file's end damaged.
MAX_COMPRESSION_RATIO = 200
#: Streams up to this size are allowed any ratio (a sorted label file compresses a thousandfold).
COMPRESSED_FLOOR_BYTES = 64 * MiB

#: The most dimensions of an IDX array. The header allows 255; real files use 1 to 4.
MAX_IDX_DIMENSIONS = 16

# -- images (nnet.images, image folders, the lab's drawings) ------------------------------------

#: The largest image, in pixels, decoded: a 40-megapixel photo (a large phone camera's). Its
#: RGBA decodes to 160 MB; a few-kilobyte PNG may claim a gigapixel (a decompression bomb).
MAX_PIXELS = 40_000_000

# -- the lab (nnet.lab) -------------------------------------------------------------------------

#: The largest request body the lab reads: a 280 x 280 RGBA drawing in base64 is ~420 KB.
MAX_BODY_BYTES = 512 * 1024
#: The largest side of a drawing or image sent to the lab, in pixels.
MAX_SIDE = 1024
#: The most digits of an integer in a request (JSON, a path, a header): 2**63 has 19. Python
#: would spend quadratic time turning a 4,000-digit one into a number, and refuses longer ones.
MAX_INTEGER_DIGITS = 20

#: The most work one training run started from the lab may do, in multiply-adds
#: (:func:`training_work`): about 40 times the default run (784-128-10, 60,000 images, 3
#: epochs), 1.5 minutes on the 2-core machine nnet is built on, a few on a laptop
#: (benchmarks/lab_work.py). Each setting has its own bound too, but together they allowed four
#: hidden layers of 1024, batch 1 and 100 epochs: twelve hours for one click.
MAX_TRAINING_WORK = 3 * 10**12
#: The fixed cost of one minibatch step (Python, the NumPy calls), in multiply-adds.
STEP_OVERHEAD_WORK = 10**6
#: What a step costs per parameter besides, in multiply-adds: reading every weight for the
#: products of a small batch and the optimizer's pass over them are bound by memory, not by
#: arithmetic (measured: 2.3 ns a parameter against 0.03 ns a multiply-add of a large batch).
#: It is what makes batch 1 slow: 9 ms a step for four hidden layers of 1024.
STEP_WORK_PER_PARAMETER = 80

#: What a hostile file under 1 MB may cost before it is refused (peak memory, measured by the
#: fuzz tests).
MAX_MEMORY_FOR_SMALL_FILES = 300 * MiB


def dense_parameters(sizes) -> int:
    """The weights and biases of a stack of dense layers of these sizes (inputs first)."""
    sizes = [int(size) for size in sizes]
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def training_work(sizes, train_size: int, epochs: int, batch_size: int) -> int:
    """The multiply-adds of a training run, as ``MAX_TRAINING_WORK`` counts them.

    ``sizes`` are the layer sizes (inputs first). Each example costs three products per layer
    (forward ``W a``, the error ``δ W`` and the gradient ``δᵀ a``), each n_in x n_out
    multiply-adds; each step costs ``STEP_OVERHEAD_WORK`` more, and ``STEP_WORK_PER_PARAMETER``
    for each parameter.
    """
    sizes = [int(size) for size in sizes]
    per_example = 3 * sum(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    per_step = STEP_OVERHEAD_WORK + STEP_WORK_PER_PARAMETER * dense_parameters(sizes)
    steps = -(-int(train_size) // int(batch_size))
    return int(epochs) * (int(train_size) * per_example + steps * per_step)
