"""Camera footage in and out: decoding files and streams at a set rate, letterboxing, encoding MP4.

Files (MP4, MKV, AVI, MOV) and streams (``rtsp://``, ``http(s)://``) are
decoded through PyAV, whose wheels bring FFmpeg. Frames are taken at
``process_fps`` by their container timestamps, not by counting frames, so a
variable-rate recording or a stream that skips frames keeps its clock.

A file is decoded in the caller's thread and nothing is dropped. A stream is
read by a thread into a bounded buffer (a slow detector drops the oldest
frames, never the newest), reconnects after a drop and stops at
``duration_s``; what happened is in :attr:`VideoReader.events`.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from kit.errors import InputDataError, ParameterError
from kit.i18n import _

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".m4v", ".ts")
STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


@dataclass
class Frame:
    """One processed frame.

    Attributes
    ----------
    time_s : float, s
        Container timestamp from the start of the video (a stream: from its first frame).
    index : int
        Processed-frame number, from 0.
    image : numpy.ndarray, (H, W, 3) uint8
        RGB, the video's own pixels.
    """

    time_s: float
    index: int
    image: np.ndarray


def is_stream(source) -> bool:
    """Whether ``source`` is a stream URL rather than a file.

    Examples
    --------
    >>> is_stream("rtsp://10.0.0.5/cam1"), is_stream("gate.mp4")
    (True, False)
    """
    return isinstance(source, str) and source.lower().startswith(STREAM_SCHEMES)


def _one_line(err) -> str:
    return " ".join(str(err).split())


class VideoReader:
    """Frames of a video file or stream at ``process_fps``, by container timestamps.

    Parameters
    ----------
    source : path or str
        A file (MP4, MKV, AVI, MOV) or an ``rtsp://`` / ``http(s)://`` URL.
    process_fps : float, frames per second
        Frames analysed per second of video; a slower source gives all its frames.
    start_s : float, s
        Start of the window (files: seek; streams: frames before it are skipped).
    duration_s : float, s, optional
        Length of the window; None: to the end (a stream: until it ends or fails).
    timeout_s : float, s
        How long a stream may stay silent, when opening and while reading.
    reconnects : int
        Reconnection attempts after a stream drops, each after ``retry_s``.
    buffer_frames : int
        Decoded stream frames held for a slow consumer (oldest dropped first).
    retry_s : float, s

    Attributes
    ----------
    events : list of str
        What the reader had to do: reconnections, a truncated file, dropped frames.
    info : dict
        ``width``, ``height`` (px), ``fps`` (the stream's average rate) and
        ``codec`` once opened; ``declared_s`` for files.
    """

    def __init__(self, source, process_fps: float = 5.0, start_s: float = 0.0, duration_s: float | None = None, *,
                 timeout_s: float = 5.0, reconnects: int = 3, buffer_frames: int = 64, retry_s: float = 1.0):
        if not process_fps > 0:
            raise ParameterError(_("process_fps must be > 0 frames per second, got {value!r}").format(value=process_fps))
        if start_s < 0 or (duration_s is not None and not duration_s > 0):
            raise ParameterError(_("need start_s >= 0 s and duration_s > 0 s (or None), got {start_s!r}, {duration_s!r}").format(
                start_s=start_s, duration_s=duration_s))
        self.source, self.process_fps, self.start_s, self.duration_s = source, float(process_fps), float(start_s), duration_s
        self.timeout_s, self.reconnects, self.buffer_frames, self.retry_s = timeout_s, reconnects, buffer_frames, retry_s
        self.events: list = []
        self.info: dict = {}
        if not is_stream(source):
            p = Path(source)
            if not p.is_file():
                raise InputDataError(_("video {path}: no such file; give an MP4, MKV, AVI or MOV file, or an rtsp:// or "
                                       "http(s):// URL").format(path=p))

    @property
    def end_s(self):
        return None if self.duration_s is None else self.start_s + float(self.duration_s)

    def __iter__(self):
        raw = self._stream_frames() if is_stream(self.source) else self._file_frames()
        return sample_frames(raw, self.process_fps, self.start_s, self.end_s)

    # -- files -----------------------------------------------------------------
    def _open(self):
        import av

        src = str(self.source)
        try:
            if is_stream(src):
                opts = {"rtsp_transport": "tcp"} if src.lower().startswith("rtsp") else {}
                return av.open(src, options=opts, timeout=(self.timeout_s, self.timeout_s))
            return av.open(src)
        except (av.FFmpegError, OSError) as err:
            what = "stream" if is_stream(src) else "video"
            fix = ("check the address, the port and that the camera or recorder answers" if is_stream(src)
                   else "the file is not a video FFmpeg reads (a truncated MP4 loses its index); copy it again from the recorder")
            raise InputDataError(f"{what} {src}: cannot be opened ({_one_line(err)}); {fix}") from None

    def _describe(self, container):
        if not container.streams.video:
            container.close()
            raise InputDataError(_("video {source}: holds no video stream; give camera footage (MP4, MKV, AVI, MOV)").format(
                source=self.source))
        s = container.streams.video[0]
        s.thread_type = "AUTO"
        rate = s.average_rate or s.guessed_rate
        self.info = {"width": int(s.codec_context.width), "height": int(s.codec_context.height),
                     "fps": float(rate) if rate else None, "codec": s.codec_context.name}
        if s.duration is not None and s.time_base is not None:
            self.info["declared_s"] = float(s.duration * s.time_base)
        elif container.duration is not None:
            self.info["declared_s"] = container.duration / 1_000_000
        return s

    def _file_frames(self):
        import av

        container = self._open()
        try:
            s = self._describe(container)
            t0 = float(s.start_time * s.time_base) if s.start_time is not None else 0.0
            if self.start_s > 0:
                container.seek(int((self.start_s + t0) / s.time_base), stream=s, backward=True, any_frame=False)
            last, n = None, 0
            try:
                for fr in container.decode(s):
                    if fr.pts is None:
                        continue
                    last = float(fr.pts * s.time_base) - t0
                    n += 1
                    yield last, fr.to_ndarray(format="rgb24")
            except (av.FFmpegError, OSError) as err:
                self._truncated(last, n, _one_line(err))
                return
            declared = self.info.get("declared_s")
            fps = self.info.get("fps") or self.process_fps
            if declared and last is not None and (self.end_s is None or self.end_s > last) and last < declared - 2.0 / fps:
                self._truncated(last, n, f"the file declares {declared:.2f} s")
        finally:
            container.close()

    def _truncated(self, last, n, why):
        upto = "no frame" if last is None else f"the {n} frames decoded, up to {last:.2f} s"
        self.events.append(f"video {self.source} is truncated ({why}): kept {upto}")

    # -- streams ---------------------------------------------------------------
    def _stream_frames(self):
        container = self._open()  # the first connection fails loudly: nothing was read
        self._describe(container)
        buf: queue.Queue = queue.Queue(maxsize=self.buffer_frames)
        stop = threading.Event()
        worker = threading.Thread(target=self._pump, args=(container, buf, stop), daemon=True, name="kit-video-stream")
        worker.start()
        try:
            while True:
                item = buf.get()
                if item is None:
                    return
                yield item
        finally:
            stop.set()
            worker.join(timeout=self.timeout_s + 1)

    def _pump(self, container, buf, stop):
        """Read the stream into ``buf``, reconnecting after a drop, until it ends, ``stop`` or ``end_s``."""
        import av

        offset, last, attempts, dropped = 0.0, None, 0, 0
        while not stop.is_set():
            first = None
            try:
                s = container.streams.video[0]
                for fr in container.decode(s):
                    if stop.is_set() or fr.pts is None:
                        break
                    t = float(fr.pts * s.time_base)
                    first = t if first is None else first
                    now = offset + t - first
                    last = now
                    dropped += _put_latest(buf, (now, fr.to_ndarray(format="rgb24")))
                    attempts = 0
                    if self.end_s is not None and now >= self.end_s:
                        stop.set()
                ended = None
            except (av.FFmpegError, OSError) as err:
                ended = _one_line(err)
            container.close()
            if stop.is_set() or ended is None or attempts >= self.reconnects:
                if ended is not None and not stop.is_set():
                    self.events.append(f"stream {self.source} dropped ({ended}); gave up after {attempts} reconnection(s)")
                break
            attempts += 1
            self.events.append(f"stream {self.source} dropped at {0.0 if last is None else last:.2f} s ({ended}); reconnecting ({attempts}/{self.reconnects})")
            container = self._reconnect(stop)
            if container is None:
                break
            offset = (last or 0.0) + 1.0 / (self.info.get("fps") or self.process_fps)
        if dropped:
            self.events.append(f"stream {self.source}: {dropped} decoded frames dropped (the analysis was slower than the stream)")
        _put_latest(buf, None)

    def _reconnect(self, stop):
        deadline = time.monotonic() + self.retry_s
        while time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.05)
        try:
            return self._open()
        except InputDataError as err:
            self.events.append(str(err))
            return None


def probe(source, timeout_s: float = 5.0) -> dict:
    """Open a video file or stream, read its description and close it: ``width``, ``height``, ``fps``, ``codec``.

    Raises InputDataError (one line) when it cannot be opened, so a bad
    address fails before any training starts.
    """
    reader = VideoReader(source, timeout_s=timeout_s)
    container = reader._open()
    try:
        reader._describe(container)
    finally:
        container.close()
    return reader.info


def sample_frames(raw, process_fps: float, start_s: float = 0.0, end_s: float | None = None):
    """Frames at ``process_fps`` from ``(time_s, image)`` pairs in time order, within ``[start_s, end_s)``.

    A frame is taken at each slot ``start_s + k / process_fps`` (the first
    frame at or after it); a source slower than ``process_fps`` gives all
    its frames, and a gap in it skips slots rather than crowding them.

    Examples
    --------
    >>> raw = ((i / 25, None) for i in range(50))  # 2 s at 25 frames/s
    >>> [f.time_s for f in sample_frames(raw, 5, start_s=0.5, end_s=1.5)]
    [0.52, 0.72, 0.92, 1.12, 1.32]
    """
    step = 1.0 / process_fps
    next_t, index = float(start_s), 0
    for t, image in raw:
        if t + 1e-6 < next_t:
            continue
        if end_s is not None and t >= end_s - 1e-6:
            break
        yield Frame(round(t, 6), index, image)
        index += 1
        next_t += step * (int(np.floor((t - next_t) / step + 1e-6)) + 1)


def _put_latest(buf: queue.Queue, item) -> int:
    """Put ``item``, dropping the oldest buffered frame when full; the number dropped (0 or 1)."""
    try:
        buf.put_nowait(item)
        return 0
    except queue.Full:
        try:
            buf.get_nowait()
        except queue.Empty:
            pass
        buf.put_nowait(item)
        return 1


def letterbox(image, size: int, fill: int = 114):
    """Scale an image to fit a ``size`` square, keeping its aspect, and pad the rest.

    Parameters
    ----------
    image : numpy.ndarray, (H, W, 3) uint8
    size : int, px
    fill : int, 0–255
        Grey of the padding.

    Returns
    -------
    (square, scale, pad) : (size, size, 3) uint8, float, (pad_x, pad_y) px
        A video pixel ``x`` is at ``x * scale + pad_x`` in the square.

    Examples
    --------
    >>> sq, s, pad = letterbox(np.zeros((90, 160, 3), np.uint8), 64)
    >>> sq.shape, s, pad
    ((64, 64, 3), 0.4, (0, 14))
    """
    from PIL import Image

    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((size, size, 3), fill, dtype=np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    resized = image if (nw, nh) == (w, h) else np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    out[py:py + nh, px:px + nw] = resized
    return out, scale, (px, py)


def unletterbox(boxes, scale: float, pad, frame_size):
    """XYXY boxes from the letterboxed square back to video pixels, clipped to the frame.

    Examples
    --------
    >>> unletterbox(np.array([[10., 14., 30., 34.]]), 0.4, (0, 14), (160, 90)).tolist()
    [[25.0, 0.0, 75.0, 50.0]]
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, [0, 2]] = (b[:, [0, 2]] - pad[0]) / scale
    b[:, [1, 3]] = (b[:, [1, 3]] - pad[1]) / scale
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, frame_size[0])
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, frame_size[1])
    return b


def write_video(frames, path, fps: float, *, codec: str = "libx264", crf: int = 23, faststart: bool = True) -> Path:
    """Encode RGB frames to a video file (H.264 in MP4 by default), atomically.

    Parameters
    ----------
    frames : iterable of numpy.ndarray (H, W, 3) uint8
        All of one size; odd sizes are padded by a pixel (4:2:0 needs even ones).
    path : path
    fps : float, frames per second
    codec : str
    crf : int
        x264 quality (lower is better; 23 is x264's default).
    faststart : bool
        Index at the front of an MP4, so a browser plays it before it has loaded.

    Returns
    -------
    pathlib.Path
    """
    import av

    from kit.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        opts = {"movflags": "+faststart"} if faststart and path.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
        fmt = {".mkv": "matroska", ".ts": "mpegts", ".avi": "avi", ".mov": "mov"}.get(path.suffix.lower(), "mp4")
        with av.open(str(tmp), "w", format=fmt, options=opts) as out:
            stream = None
            for img in frames:
                img = np.asarray(img, dtype=np.uint8)
                h, w = img.shape[:2]
                if stream is None:
                    stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
                    stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
                    if codec == "libx264":
                        stream.options = {"crf": str(crf), "preset": "veryfast"}
                if (h % 2) or (w % 2):
                    img = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            if stream is None:
                raise ParameterError(_("write_video {path}: no frames to write").format(path=path))
            for packet in stream.encode():
                out.mux(packet)
    return path
