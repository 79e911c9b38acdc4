"""Photos lose their metadata before they are stored: EXIF (the camera, the time, the GPS
position of the resident's home), XMP, IPTC, comments and PNG text chunks.

Pillow re-encodes the image without them: JPEG with the original quantization tables
(`quality="keep"`: no visible loss), PNG losslessly; the EXIF orientation is applied first,
so the photo stays upright without the tag. Runs from file to file in a worker thread (the
event loop keeps serving); the pixel limit refuses a decompression bomb before decoding.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from contracts.limits import MAX_IMAGE_PIXELS


class TooManyPixels(ValueError):
    """The image has more pixels than `MAX_IMAGE_PIXELS`."""


class NotAnImage(ValueError):
    """The bytes start like an image but do not decode as one."""


def strip_metadata(source: Path, target: Path, content_type: str) -> None:
    """Write `source` to `target` without its metadata (blocking: call in a thread)."""
    try:
        with Image.open(source) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise TooManyPixels(f"{im.width}x{im.height} pixels")
            fmt = im.format
            quantization = getattr(im, "quantization", None)
            # a copy (turned upright by its EXIF orientation) with no metadata at all
            clean = ImageOps.exif_transpose(im)
            clean.info = {}
            if content_type == "image/jpeg" and fmt == "JPEG":
                if quantization:
                    clean.save(target, "JPEG", qtables=quantization)
                else:
                    clean.save(target, "JPEG", quality=95)
            else:
                clean.save(target, "PNG")
    except TooManyPixels:
        raise
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(str(exc)) from exc
