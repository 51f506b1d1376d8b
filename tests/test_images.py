"""Tests for nnet.images: any photo, scan or drawing in, an MNIST-style 28x28 digit out."""

import io
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import nnet
from nnet import images
from nnet.images import BOX_SIDE, IMAGE_SIDE, ImageError, load_images, to_mnist

@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """The first 200 MNIST test digits, uint8 (200, 28, 28), white on black."""
    _, (x_test, _) = nnet.datasets.load_mnist()
    return x_test[:200].reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def center_of_mass(digit: np.ndarray) -> np.ndarray:
    """(row, column) of a (28, 28) image's center of mass, in pixel indices."""
    mass = digit.astype(float)
    index = np.arange(IMAGE_SIDE)
    return np.array([mass.sum(axis=1) @ index, mass.sum(axis=0) @ index]) / mass.sum()


def ink_box(digit: np.ndarray) -> tuple[int, int]:
    """Height and width of the bounding box of the nonzero pixels."""
    rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1


def drawing(digit: np.ndarray, side: int = 280) -> np.ndarray:
    """A MNIST digit blown up smoothly to side x side, uint8, white on black."""
    return np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC))


# Output form.


@pytest.mark.parametrize("flatten, shape", [(True, (784,)), (False, (28, 28))])
def test_output_is_uint8_mnist_scale(digits, flatten, shape):
    digit = to_mnist(drawing(digits[0]), flatten=flatten)
    assert digit.shape == shape
    assert digit.dtype == np.uint8
    assert digit.max() == 255
    assert digit.reshape(28, 28)[0].max() == 0  # background is 0, and the border is empty
    assert (IMAGE_SIDE, BOX_SIDE) == (28, 20)


def test_a_mnist_digit_comes_out_as_itself(digits):
    # MNIST digits are already normalized and centered: the pipeline must leave them alone.
    similarities = [correlation(to_mnist(digit), digit) for digit in digits]
    assert min(similarities) > 0.9
    assert np.mean(similarities) > 0.99


def test_a_big_drawing_comes_out_like_the_digit(digits):
    # 28 -> 280 -> 28 blurs a little and may land one pixel off (centering shifts whole pixels).
    similarities = []
    for digit in digits[:20]:
        result = to_mnist(drawing(digit), flatten=False)
        shifted = [np.roll(result, (down, right), axis=(0, 1)) for down in (-1, 0, 1) for right in (-1, 0, 1)]
        assert max(correlation(candidate, digit) for candidate in shifted) > 0.85
        similarities.append(correlation(result, digit))
    assert np.mean(similarities) > 0.9


# Polarity, color and transparency.


def test_dark_on_light_is_detected_and_inverted(digits):
    white_on_black = to_mnist(drawing(digits[1]))
    np.testing.assert_array_equal(to_mnist(255 - drawing(digits[1])), white_on_black)


def test_invert_overrides_the_detection(digits):
    white_on_black = drawing(digits[1])
    np.testing.assert_array_equal(to_mnist(255 - white_on_black, invert=True), to_mnist(white_on_black))
    np.testing.assert_array_equal(to_mnist(white_on_black, invert=False), to_mnist(white_on_black))
    with pytest.raises(ImageError, match="blank"):  # told it is dark ink: there is none
        to_mnist(white_on_black, invert=True)


def test_dim_gray_paper_photo_is_inverted(digits):
    # Paper at 0.45, ink at 0.1: darker than mid-gray overall, still dark ink on light paper.
    photo = (0.45 - 0.35 * drawing(digits[2]) / 255).astype(np.float32)
    assert correlation(to_mnist(photo), to_mnist(drawing(digits[2]))) > 0.95


@pytest.mark.parametrize("stroke", [0, 255], ids=["black-strokes", "white-strokes"])
def test_rgba_transparent_background_is_background(digits, stroke):
    canvas = np.zeros((280, 280, 4), np.uint8)  # a browser canvas: strokes on transparent
    canvas[..., :3] = stroke
    canvas[..., 3] = drawing(digits[3])
    assert correlation(to_mnist(canvas), to_mnist(drawing(digits[3]))) > 0.99


def test_rgb_colored_ink(digits):
    paper = np.full((280, 280, 3), 250, np.uint8)
    ink = drawing(digits[4])[..., None] / 255
    blue_pen = (paper * (1 - ink) + np.array([20, 40, 160]) * ink).astype(np.uint8)
    assert correlation(to_mnist(blue_pen), to_mnist(drawing(digits[4]))) > 0.95


def test_float_pillow_and_encoded_bytes_inputs_agree(digits):
    array = drawing(digits[5])
    expected = to_mnist(array)
    assert np.abs(to_mnist(array / 255.0).astype(int) - expected).max() <= 2
    rgb_float = np.repeat(array[..., None] / 255.0, 3, axis=2)
    assert np.abs(to_mnist(rgb_float).astype(int) - expected).max() <= 2
    mask = array > 127
    assert np.abs(to_mnist(mask).astype(int) - to_mnist(mask.astype(np.uint8) * 255)).max() <= 2
    np.testing.assert_array_equal(to_mnist(Image.fromarray(array)), expected)
    png = io.BytesIO()
    Image.fromarray(array).save(png, format="PNG")
    np.testing.assert_array_equal(to_mnist(png.getvalue()), expected)


# Noise.


def test_gaussian_noise_and_off_center_placement(digits):
    rng = np.random.default_rng(0)
    paper = np.ones((200, 160), np.float32)
    paper[100:184, 10:94] = 1 - drawing(digits[6], 84) / 255
    noisy = np.clip(paper + rng.normal(0, 0.15, paper.shape), 0, 1)
    assert correlation(to_mnist(noisy), digits[6]) > 0.85


def test_median_filter_removes_salt_and_pepper(digits):
    rng = np.random.default_rng(0)
    speckled = 255 - drawing(digits[7])
    speck = rng.random(speckled.shape)
    speckled[speck < 0.05], speckled[speck > 0.95] = 0, 255
    clean = to_mnist(drawing(digits[7]))
    assert correlation(to_mnist(speckled, median_filter=True), clean) > 0.95


# Size normalization and centering.


@st.composite
def blobs(draw):
    """A filled, rotated ellipse anywhere on a canvas of random size, either polarity."""
    height = draw(st.integers(12, 300))
    width = draw(st.integers(12, 300))
    largest = (min(height, width) - 6) / 2  # fits inside at any angle, 2 pixels from the edge
    radius_y = draw(st.floats(1.0, largest))
    radius_x = draw(st.floats(1.0, largest))
    angle = draw(st.floats(0, np.pi))
    reach_y = np.hypot(radius_y * np.cos(angle), radius_x * np.sin(angle))  # half-extents
    reach_x = np.hypot(radius_y * np.sin(angle), radius_x * np.cos(angle))
    center_y = draw(st.floats(reach_y + 2, height - 3 - reach_y))
    center_x = draw(st.floats(reach_x + 2, width - 3 - reach_x))
    rows, columns = np.mgrid[:height, :width]
    along = (rows - center_y) * np.cos(angle) + (columns - center_x) * np.sin(angle)
    across = -(rows - center_y) * np.sin(angle) + (columns - center_x) * np.cos(angle)
    inside = (along / radius_y) ** 2 + (across / radius_x) ** 2 <= 1
    inside[round(center_y), round(center_x)] = True  # at least one pixel of ink
    image = np.where(inside, 255, 0).astype(np.uint8)
    return 255 - image if draw(st.booleans()) else image


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs())
def test_blob_is_centered_by_mass_in_the_20_box(blob):
    digit = to_mnist(blob, flatten=False)
    np.testing.assert_allclose(center_of_mass(digit), [14, 14], atol=1.0)
    height, width = ink_box(digit)
    assert max(height, width) in (BOX_SIDE - 1, BOX_SIDE)


def test_center_shift_keeps_the_box_inside():
    lopsided = np.zeros((100, 100), np.uint8)  # a heavy bar on a long thin stem: mass high up
    lopsided[10:30, 10:90] = 255
    lopsided[30:90, 49:51] = 255
    digit = to_mnist(lopsided, flatten=False)
    assert center_of_mass(digit)[0] < 12  # full centering would push the stem off the bottom ...
    assert ink_box(digit) == (20, 20)  # ... so the shift stops with the whole box inside
    assert digit[-1].any()


def test_wide_digit_keeps_its_aspect_ratio():
    bar = np.zeros((60, 200), np.uint8)
    bar[20:40, 20:180] = 255  # 20 x 160: aspect 8
    height, width = ink_box(to_mnist(bar, flatten=False))
    assert width == BOX_SIDE
    assert height in (2, 3, 4)


# Errors.


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((28, 28), np.uint8),
        np.full((50, 40), 0.5, np.float32),
        np.full((50, 40, 3), 255, np.uint8),
        np.zeros((50, 40, 4), np.uint8),  # fully transparent
    ],
    ids=["black", "gray", "white", "transparent"],
)
def test_blank_image_is_refused(image):
    with pytest.raises(ImageError, match="the image is blank — nothing to read"):
        to_mnist(image)


@pytest.mark.parametrize("shape", [(0, 0), (0, 28), (28, 0, 3)])
def test_empty_image_is_refused(shape):
    with pytest.raises(ImageError, match=r"the image is empty: shape \(.*\) has no pixels"):
        to_mnist(np.zeros(shape, np.uint8))


def test_nan_is_refused():
    image = np.zeros((28, 28), np.float32)
    image[3, 4] = np.nan
    with pytest.raises(ImageError, match="NaN"):
        to_mnist(image)


@pytest.mark.parametrize("shape", [(784,), (28, 28, 5), (1, 28, 28, 1)])
def test_wrong_shape_is_refused(shape):
    with pytest.raises(ImageError, match=r"expected an image array of shape \(H, W\).*got shape"):
        to_mnist(np.zeros(shape, np.uint8))


def test_wrong_dtype_and_range_are_refused():
    with pytest.raises(ImageError, match="dtype uint8 or float.*got dtype int64"):
        to_mnist(np.zeros((28, 28), np.int64))
    with pytest.raises(ImageError, match=r"in \[0, 1\]; got values from 0 to 255"):
        to_mnist(np.linspace(0, 255, 784).reshape(28, 28))
    with pytest.raises(ImageError, match="expected a file path, encoded image bytes"):
        to_mnist([[0, 1], [1, 0]])


def test_too_large_image_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="too large: 40x30 = 1,200 pixels, the limit is 1,000"):
        to_mnist(np.zeros((30, 40), np.uint8))
    path = tmp_path / "big.png"
    Image.new("L", (40, 30)).save(path)
    with pytest.raises(ImageError, match="big.png: the image is too large"):
        to_mnist(path)


def test_missing_pillow_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "nnet\[images\]"'):
        to_mnist(np.zeros((28, 28), np.uint8))


# Files and folders.


def test_file_path_and_exif_orientation(digits, tmp_path):
    path = tmp_path / "seven.jpg"
    Image.fromarray(255 - drawing(digits[0])).save(path, quality=95)
    assert correlation(to_mnist(path), digits[0]) > 0.95
    rotated = tmp_path / "rotated.jpg"  # a phone photo stored sideways, with an orientation tag
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(np.rot90(255 - drawing(digits[0]))).save(rotated, quality=95, exif=exif)
    assert correlation(to_mnist(rotated), digits[0]) > 0.95


def test_sixteen_bit_png(digits, tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(drawing(digits[8]).astype(np.uint16) * 257).save(path)
    assert Image.open(path).mode.startswith("I")
    assert correlation(to_mnist(path), to_mnist(drawing(digits[8]))) > 0.99


def test_load_images_reads_files_and_folders(digits, tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    Image.fromarray(255 - drawing(digits[1])).save(folder / "b.png")
    Image.fromarray(255 - drawing(digits[0])).convert("RGB").save(folder / "a.jpg")
    Image.fromarray(drawing(digits[2])).save(folder / "c.bmp")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"junk")
    single = tmp_path / "single.png"
    Image.fromarray(drawing(digits[3])).save(single)

    x, files = load_images([folder, str(single)])
    assert files == [folder / "a.jpg", folder / "b.png", folder / "c.bmp", single]
    assert x.shape == (4, 784) and x.dtype == np.uint8
    for row, digit in zip(x, digits[:4]):
        assert correlation(row, digit) > 0.9

    x_one, files_one = load_images(single)
    assert files_one == [single]
    np.testing.assert_array_equal(x_one[0], x[3])


def test_not_an_image_is_an_error_naming_the_file(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("hello, I am text")
    with pytest.raises(ImageError, match=r"fake\.png: cannot read it as an image"):
        load_images(tmp_path)
    with pytest.raises(ImageError, match=r"fake\.png: cannot read it as an image"):
        to_mnist(fake)


def test_blank_file_and_missing_paths_are_named(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    with pytest.raises(ImageError, match=r"blank\.png: the image is blank"):
        load_images([blank])
    with pytest.raises(ImageError, match=r"nowhere\.png: no such file or folder"):
        load_images([tmp_path / "nowhere.png"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no image files found"):
        load_images(empty)


# Acceptance: photographed-looking digits keep a trained network's accuracy.


def paint(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A MNIST digit painted dark on white at 3x size, off-center on a random-size noisy canvas."""
    big = np.asarray(Image.fromarray(digit).resize((84, 84), Image.Resampling.BICUBIC)) / 255
    height, width = rng.integers(100, 241, size=2)
    canvas = np.ones((height, width))
    top, left = rng.integers(0, height - 84 + 1), rng.integers(0, width - 84 + 1)
    canvas[top : top + 84, left : left + 84] = 1 - big
    canvas += rng.normal(0, 0.1, canvas.shape)
    return np.rint(np.clip(canvas, 0, 1) * 255).astype(np.uint8)


@pytest.mark.slow
def test_painted_noisy_digits_keep_the_accuracy(default_model):
    # The acceptance test: MNIST test digits painted dark on white at 3x size, off-center, on
    # larger noisy canvases; after to_mnist the default model (`nnet train`'s) keeps its accuracy.
    _, (x_test, y_test) = nnet.datasets.load_mnist()
    x_test, y_test = x_test[:1000].reshape(-1, IMAGE_SIDE, IMAGE_SIDE), y_test[:1000]
    net = default_model

    rng = np.random.default_rng(0)
    painted = np.stack([to_mnist(paint(digit, rng)) for digit in x_test])
    original_accuracy = float(np.mean(net.predict(x_test.reshape(-1, 784)) == y_test))
    painted_accuracy = float(np.mean(net.predict(painted) == y_test))
    assert original_accuracy > 0.9
    assert abs(painted_accuracy - original_accuracy) <= 0.02, (original_accuracy, painted_accuracy)


def test_a_pil_image_that_cannot_be_converted_is_an_image_error(digits):
    encoded = io.BytesIO()
    Image.fromarray(digits[0]).resize((64, 64)).save(encoded, format="PNG")
    truncated = Image.open(io.BytesIO(encoded.getvalue()[:150]))  # the header reads, the pixels do not
    with pytest.raises(ImageError, match=r"cannot convert the PIL image \(mode L, 64x64\) to grayscale: OSError"):
        to_mnist(truncated)
    closed = Image.fromarray(digits[0])
    closed.close()
    with pytest.raises(ImageError, match=r"cannot convert the PIL image .*ValueError"):
        to_mnist(closed)
