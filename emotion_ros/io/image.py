"""sensor_msgs/Image and CompressedImage <-> numpy, without cv_bridge.

Supported raw encodings (REP-104 names and the OpenCV aliases cv_bridge accepts):
rgb8, bgr8, rgba8, bgra8, mono8, mono16 (8UC1, 8UC3, 16UC1), and the packed 4:2:2
formats yuyv (yuv422_yuy2) and uyvy (yuv422). Compressed images: jpeg and png.
"""

from __future__ import annotations

from dataclasses import dataclass

import io

import cv2
import numpy as np
from PIL import Image as PillowImage
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.payload import set_payload


@dataclass(frozen=True)
class PixelFormat:
    channels: int
    dtype: np.dtype
    # Conversion from the native layout to RGB, or None when the native layout is RGB.
    to_rgb: int | None
    # Conversion from RGB to the native layout.
    from_rgb: int | None


_U8 = np.dtype(np.uint8)
_U16 = np.dtype(np.uint16)

PIXEL_FORMATS: dict[str, PixelFormat] = {
    "rgb8": PixelFormat(3, _U8, None, None),
    "bgr8": PixelFormat(3, _U8, cv2.COLOR_BGR2RGB, cv2.COLOR_RGB2BGR),
    "rgba8": PixelFormat(4, _U8, cv2.COLOR_RGBA2RGB, cv2.COLOR_RGB2RGBA),
    "bgra8": PixelFormat(4, _U8, cv2.COLOR_BGRA2RGB, cv2.COLOR_RGB2BGRA),
    "mono8": PixelFormat(1, _U8, cv2.COLOR_GRAY2RGB, cv2.COLOR_RGB2GRAY),
    "mono16": PixelFormat(1, _U16, cv2.COLOR_GRAY2RGB, cv2.COLOR_RGB2GRAY),
    # Packed 4:2:2: two bytes per pixel, each pair of pixels shares U and V.
    "yuyv": PixelFormat(2, _U8, cv2.COLOR_YUV2RGB_YUYV, cv2.COLOR_RGB2YUV_YUYV),
    "uyvy": PixelFormat(2, _U8, cv2.COLOR_YUV2RGB_UYVY, cv2.COLOR_RGB2YUV_UYVY),
}

ENCODING_ALIASES = {
    "8UC1": "mono8",
    "8UC3": "bgr8",
    "8UC4": "bgra8",
    "16UC1": "mono16",
    "yuv422_yuy2": "yuyv",
    "yuv422": "uyvy",  # REP-104's "yuv422" is UYVY byte order
}

SUPPORTED_ENCODINGS = tuple(PIXEL_FORMATS) + tuple(ENCODING_ALIASES)

# Largest image accepted [pixels]: 8K UHD is 33 MP. A message claiming more is refused before
# anything is decoded (a 600-byte JPEG can claim 30000 x 30000 and decode to 2.7 GB).
MAX_PIXELS = 40_000_000


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InvalidInput("size", f"a {width}x{height} image is larger than the {MAX_PIXELS // 1_000_000} MP limit")


def pixel_format(encoding: str) -> tuple[str, PixelFormat]:
    """Canonical encoding name and its PixelFormat; InvalidInput if unsupported."""
    name = ENCODING_ALIASES.get(encoding, encoding)
    if name not in PIXEL_FORMATS:
        raise InvalidInput(
            "encoding",
            f"unsupported image encoding {encoding!r} (supported: {', '.join(SUPPORTED_ENCODINGS)})",
        )
    return name, PIXEL_FORMATS[name]


def image_to_array(msg: Image) -> np.ndarray:
    """The image's pixels in their native layout, validated.

    Returns (H, W, C) for multi-channel encodings (C = 3, 4, or 2 for packed YUV 4:2:2)
    and (H, W) for mono8/mono16, uint8 or native-endian uint16. Row padding (step > W * pixel
    size) is removed. Raises InvalidInput on an unsupported encoding or inconsistent sizes.
    """
    name, fmt = pixel_format(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise InvalidInput("empty", f"zero-sized image ({width}x{height})")
    _check_pixels(width, height)
    if fmt.channels == 2 and width % 2:
        raise InvalidInput("size", f"{name} needs an even width, got {width}")
    row_bytes = width * fmt.channels * fmt.dtype.itemsize
    if step < row_bytes:
        raise InvalidInput(
            "size", f"step {step} is smaller than width x pixel size = {row_bytes} bytes ({name})"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != step * height:
        raise InvalidInput(
            "size", f"data holds {data.size} bytes, expected step x height = {step * height}"
        )
    rows = data.reshape(height, step)[:, :row_bytes]
    dtype = fmt.dtype.newbyteorder(">" if msg.is_bigendian else "<")
    pixels = np.ascontiguousarray(rows).view(dtype).astype(fmt.dtype, copy=False)
    if fmt.channels == 1:
        return pixels.reshape(height, width)
    return pixels.reshape(height, width, fmt.channels)


def image_to_rgb(msg: Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB, whatever the encoding. mono16 is scaled to the 8-bit range."""
    name, fmt = pixel_format(msg.encoding)
    pixels = image_to_array(msg)
    if name == "mono16":
        pixels = (pixels >> 8).astype(np.uint8)
    if fmt.to_rgb is None:
        return pixels
    return cv2.cvtColor(pixels, fmt.to_rgb)


def array_to_image(pixels: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Build an Image from pixels already in ``encoding``'s native layout.

    pixels: (H, W, C), or (H, W) for mono8/mono16, with the dtype of the encoding (as
    image_to_array returns them). Written little-endian, rows unpadded.
    """
    name, fmt = pixel_format(encoding)
    pixels = np.asarray(pixels)
    shape_ok = pixels.ndim == 2 if fmt.channels == 1 else pixels.ndim == 3 and pixels.shape[2] == fmt.channels
    if not shape_ok or pixels.dtype != fmt.dtype or 0 in pixels.shape:
        raise InvalidInput("size", f"a {pixels.dtype} array of shape {pixels.shape} is not {name} pixels")
    if fmt.channels == 2 and pixels.shape[1] % 2:
        raise InvalidInput("size", f"{name} needs an even width, got {pixels.shape[1]}")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = name
    msg.is_bigendian = 0
    msg.step = msg.width * fmt.channels * fmt.dtype.itemsize
    set_payload(msg, np.ascontiguousarray(pixels, dtype=fmt.dtype.newbyteorder("<")).tobytes())
    return msg


def rgb_to_image(rgb: np.ndarray, encoding: str = "rgb8", header: Header | None = None) -> Image:
    """Build an Image in ``encoding`` from (H, W, 3) uint8 RGB (mono16 scales 8 to 16 bits)."""
    name, fmt = pixel_format(encoding)
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise InvalidInput("size", f"expected (H, W, 3) uint8 RGB, got a {rgb.dtype} array of shape {rgb.shape}")
    if fmt.channels == 2 and rgb.shape[1] % 2:
        raise InvalidInput("size", f"{name} needs an even width, got {rgb.shape[1]}")
    pixels = rgb if fmt.from_rgb is None else cv2.cvtColor(np.ascontiguousarray(rgb), fmt.from_rgb)
    if name == "mono16":
        pixels = pixels.astype(np.uint16) * 257
    return array_to_image(pixels, name, header)


def _compression(fmt: str) -> str:
    words = fmt.lower().replace(";", " ").split()
    for codec in ("jpeg", "jpg", "png"):
        if codec in words:
            return "png" if codec == "png" else "jpeg"
    raise InvalidInput("encoding", f"unsupported compressed image format {fmt!r} (supported: jpeg, png)")


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """Decode a jpeg/png CompressedImage to (H, W, 3) uint8 RGB."""
    _compression(msg.format)
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise InvalidInput("empty", "compressed image holds no data")
    try:  # the header's size, read without decoding the pixels
        width, height = PillowImage.open(io.BytesIO(data.tobytes())).size
    except PillowImage.DecompressionBombError as error:  # Pillow's own limit is above ours
        raise InvalidInput("size", f"the image header claims more than the {MAX_PIXELS // 1_000_000} MP limit") from error
    except (OSError, ValueError) as error:
        raise InvalidInput("corrupt", f"could not decode {data.size} bytes as {msg.format!r} (no readable header)") from error
    _check_pixels(width, height)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InvalidInput("corrupt", f"could not decode {data.size} bytes as {msg.format!r}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rgb_to_compressed(
    rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90, header: Header | None = None
) -> CompressedImage:
    """Encode (H, W, 3) uint8 RGB as a jpeg or png CompressedImage (image_transport format string)."""
    codec = _compression(fmt)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if codec == "jpeg" else []
    ok, buf = cv2.imencode("." + ("jpg" if codec == "jpeg" else "png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise InvalidInput("encoding", f"OpenCV could not encode a {rgb.shape} image as {codec}")
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = f"rgb8; {codec} compressed bgr8"
    set_payload(msg, buf.tobytes())
    return msg
