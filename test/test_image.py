"""sensor_msgs/Image and CompressedImage <-> numpy."""

import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.image import (
    array_to_image,
    compressed_to_rgb,
    image_to_array,
    image_to_rgb,
    rgb_to_compressed,
    rgb_to_image,
)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(5, 6, 3), dtype=np.uint8)


def raw(encoding, height, width, step, data, bigendian=0):
    msg = Image(height=height, width=width, encoding=encoding, step=step, is_bigendian=bigendian)
    msg.data = bytes(data)
    return msg


@pytest.mark.parametrize(
    "encoding, to_native",
    [
        ("rgb8", lambda rgb: rgb),
        ("bgr8", lambda rgb: rgb[..., ::-1]),
        ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])),
        ("bgra8", lambda rgb: np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 255, np.uint8)])),
    ],
)
def test_colour_encodings_round_trip(encoding, to_native):
    native = np.ascontiguousarray(to_native(RGB))
    msg = rgb_to_image(RGB, encoding)
    assert (msg.encoding, msg.height, msg.width, msg.step) == (encoding, 5, 6, 6 * native.shape[2])
    assert bytes(msg.data) == native.tobytes()  # the wire layout is the hand-made one
    np.testing.assert_array_equal(image_to_array(msg), native)
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


def test_mono8_and_mono16_little_and_big_endian():
    gray = np.array([[0, 10, 255], [1, 2, 3]], dtype=np.uint8)
    msg = array_to_image(gray, "mono8")
    np.testing.assert_array_equal(image_to_array(msg), gray)
    np.testing.assert_array_equal(image_to_rgb(msg), np.dstack([gray] * 3))

    depth = np.array([[0, 256, 65535], [4660, 1, 32768]], dtype=np.uint16)
    little = raw("mono16", 2, 3, 6, depth.astype("<u2").tobytes())
    big = raw("mono16", 2, 3, 6, depth.astype(">u2").tobytes(), bigendian=1)
    np.testing.assert_array_equal(image_to_array(little), depth)
    np.testing.assert_array_equal(image_to_array(big), depth)
    np.testing.assert_array_equal(image_to_rgb(big)[..., 0], depth >> 8)
    np.testing.assert_array_equal(image_to_array(array_to_image(depth, "16UC1")), depth)


def test_row_padding_is_removed():
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = np.zeros((2, 12), np.uint8)
    padded[:, :9] = pixels.reshape(2, 9)
    padded[:, 9:] = 99  # padding bytes must never show up in pixels
    msg = raw("rgb8", 2, 3, 12, padded.tobytes())
    np.testing.assert_array_equal(image_to_rgb(msg), pixels)


# BT.601 studio-swing YUV of pure colours (Y, U, V) and their RGB.
YUV_COLOURS = {
    (82, 90, 240): (255, 0, 0),
    (145, 54, 34): (0, 255, 0),
    (41, 240, 110): (0, 0, 255),
    (235, 128, 128): (255, 255, 255),
    (16, 128, 128): (0, 0, 0),
}


@pytest.mark.parametrize("encoding", ["yuyv", "yuv422_yuy2", "uyvy", "yuv422"])
def test_packed_yuv422_against_hand_made_pixels(encoding):
    # One pixel pair per colour: both pixels share U and V.
    data = bytearray()
    for (y, u, v) in YUV_COLOURS:
        data += bytes([y, u, y, v]) if encoding in ("yuyv", "yuv422_yuy2") else bytes([u, y, v, y])
    width = 2 * len(YUV_COLOURS)
    rgb = image_to_rgb(raw(encoding, 1, width, 2 * width, data))
    expected = np.repeat(np.array(list(YUV_COLOURS.values()), np.uint8), 2, axis=0)
    assert np.abs(rgb[0].astype(int) - expected).max() <= 3


@pytest.mark.parametrize("encoding", ["yuyv", "uyvy"])
def test_packed_yuv422_round_trip_of_pixel_pairs(encoding):
    pairs = np.repeat(np.array(list(YUV_COLOURS.values()), np.uint8), 2, axis=0)[None]
    back = image_to_rgb(rgb_to_image(pairs, encoding))
    assert np.abs(back.astype(int) - pairs).max() <= 3


def test_compressed_png_is_lossless_and_jpeg_close():
    cols, rows = np.meshgrid(np.arange(64) * 4, np.arange(48) * 5)
    smooth = np.dstack([rows, cols, np.full((48, 64), 120)]).astype(np.uint8)
    png = rgb_to_compressed(smooth, "png")
    assert "png" in png.format
    np.testing.assert_array_equal(compressed_to_rgb(png), smooth)
    jpeg = rgb_to_compressed(smooth, "jpeg", quality=95)
    assert np.abs(compressed_to_rgb(jpeg).astype(int) - smooth).mean() < 2.0


@pytest.mark.parametrize(
    "msg, kind",
    [
        (raw("rgb16", 2, 2, 12, bytes(24)), "encoding"),
        (raw("", 2, 2, 6, bytes(12)), "encoding"),
        (raw("rgb8", 2, 2, 6, bytes(11)), "size"),  # data shorter than step x height
        (raw("rgb8", 2, 2, 5, bytes(10)), "size"),  # step smaller than a row
        (raw("rgb8", 0, 4, 12, b""), "empty"),
        (raw("mono8", 3, 0, 0, b""), "empty"),
        (raw("yuyv", 1, 3, 6, bytes(6)), "size"),  # packed 4:2:2 needs an even width
    ],
)
def test_malformed_images_are_rejected_with_a_reason(msg, kind):
    with pytest.raises(InvalidInput) as error:
        image_to_rgb(msg)
    assert error.value.kind == kind
    assert str(error.value)


def test_corrupt_and_unsupported_compressed_images():
    bad = CompressedImage(format="jpeg")
    bad.data = b"\xff\xd8not a jpeg at all"
    with pytest.raises(InvalidInput, match="could not decode"):
        compressed_to_rgb(bad)
    with pytest.raises(InvalidInput, match="unsupported compressed"):
        compressed_to_rgb(CompressedImage(format="theora"))
    with pytest.raises(InvalidInput, match="no data"):
        compressed_to_rgb(CompressedImage(format="png"))


def test_encoding_refuses_arrays_of_the_wrong_layout():
    with pytest.raises(InvalidInput):
        array_to_image(np.zeros((2, 2), np.uint8), "rgb8")
    with pytest.raises(InvalidInput):
        rgb_to_image(np.zeros((2, 2, 3), np.float32), "rgb8")
