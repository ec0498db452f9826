"""Video in: decoding generated clips encoded with PyAV, timestamps, windows, letterboxing, truncation, streams."""
import http.server
import socket
import threading
import time

import numpy as np
import pytest

from kit.errors import InputDataError
from kit.vision.synthetic import render_sequence
from kit.vision.video import VideoReader, letterbox, probe, sample_frames, unletterbox, write_video

av = pytest.importorskip("av")


@pytest.fixture(scope="module")
def frames():
    """3 s of the kit's yard clip at 10 frames/s, 96 px (a truck and a person)."""
    return [np.asarray(im) for im, _ in render_sequence(n_frames=30, image_size=96, seed=2, n_trucks=1, n_people=1, fps=10)]


@pytest.fixture(scope="module")
def clip_mp4(frames, tmp_path_factory):
    return write_video(frames, tmp_path_factory.mktemp("v") / "clip.mp4", 10)


def test_frames_follow_container_timestamps(frames, clip_mp4, tmp_path):
    r = VideoReader(clip_mp4, process_fps=5)
    got = list(r)
    assert [f.time_s for f in got] == pytest.approx([0.2 * k for k in range(15)])
    assert [f.index for f in got] == list(range(15))
    assert r.info["width"] == 96 and r.info["fps"] == pytest.approx(10) and r.events == []
    # A variable-rate clip (frames at 0, 0.1, 0.5, 0.6, 0.7 s) keeps its clock: slot 0.4 s takes the 0.5 s frame.
    with av.open(str(tmp_path / "vfr.mkv"), "w") as out:
        s = out.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 96, 96, "yuv420p"
        s.time_base = __import__("fractions").Fraction(1, 1000)
        for pts_ms, img in zip([0, 100, 500, 600, 700], frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = pts_ms, s.time_base
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    assert [f.time_s for f in VideoReader(tmp_path / "vfr.mkv", process_fps=5)] == pytest.approx([0.0, 0.5, 0.6])


def test_window_and_the_decoded_pixels(frames, clip_mp4):
    got = list(VideoReader(clip_mp4, process_fps=10, start_s=1.0, duration_s=0.5))
    assert [f.time_s for f in got] == pytest.approx([1.0, 1.1, 1.2, 1.3, 1.4])
    # H.264 at x264's default quality: the frame decoded at 1.0 s is the one rendered 10th.
    err = np.abs(got[0].image.astype(int) - frames[10].astype(int)).mean()
    assert err < 6 and err < np.abs(got[0].image.astype(int) - frames[0].astype(int)).mean()


def test_sampling_a_faster_source():
    raw = ((i / 25, None) for i in range(100))
    t = [f.time_s for f in sample_frames(raw, 5)]
    assert t == pytest.approx([0.2 * k for k in range(20)])
    assert [f.time_s for f in sample_frames(((i * 0.5, None) for i in range(4)), 5)] == [0.0, 0.5, 1.0, 1.5]


def test_letterbox_maps_boxes_back_to_video_pixels():
    img = np.zeros((108, 192, 3), np.uint8)
    img[30:60, 100:150] = 255  # an object at x 100-150, y 30-60 in video pixels
    sq, scale, pad = letterbox(img, 64)
    ys, xs = np.nonzero(sq[..., 0] > 127)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], float)
    back = unletterbox(box, scale, pad, (192, 108))[0]
    assert np.abs(back - [100, 30, 150, 60]).max() <= 1.5 / scale  # within the square's pixel, in video pixels
    assert sq[0, 0, 0] == 114 and pad == (0, 14)


def test_truncated_mp4_keeps_the_frames_read(clip_mp4, frames, tmp_path):
    data = clip_mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    r = VideoReader(cut, process_fps=5)
    got = list(r)
    assert 3 <= len(got) < 15 and [f.time_s for f in got] == pytest.approx([0.2 * k for k in range(len(got))])
    assert len(r.events) == 1 and "\n" not in r.events[0] and "truncated" in r.events[0]
    # Written with its index at the end (no faststart), a cut MP4 has none: one line, nothing half read.
    late = write_video(frames, tmp_path / "late.mp4", 10, faststart=False)
    cut2 = tmp_path / "cut2.mp4"
    cut2.write_bytes(late.read_bytes()[: late.stat().st_size * 6 // 10])
    with pytest.raises(InputDataError) as e:
        list(VideoReader(cut2))
    assert "\n" not in str(e.value) and "cut2.mp4" in str(e.value)
    with pytest.raises(InputDataError, match="no such file"):
        VideoReader(tmp_path / "absent.mp4")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_url_that_does_not_answer_is_one_line_within_seconds():
    t0 = time.monotonic()
    with pytest.raises(InputDataError) as e:
        probe(f"http://127.0.0.1:{_free_port()}/cam.mkv", timeout_s=2)
    assert time.monotonic() - t0 < 5 and "\n" not in str(e.value) and "cannot be opened" in str(e.value)
    # A port that accepts the connection but never answers: the read timeout bounds the wait.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        t0 = time.monotonic()
        with pytest.raises(InputDataError):
            list(VideoReader(f"http://127.0.0.1:{srv.getsockname()[1]}/cam.mkv", timeout_s=1))
        assert time.monotonic() - t0 < 8
    finally:
        srv.close()


def test_stream_reconnects_after_a_drop_and_stops_at_duration(frames, tmp_path):
    data = write_video(frames, tmp_path / "cam.mkv", 10).read_bytes()
    served = []

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # the first connection drops half way, as a camera link does
            served.append(1)
            self.send_response(200)
            self.send_header("Content-Type", "video/x-matroska")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if len(served) == 1 else data)
            if len(served) == 1:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/cam.mkv"
    try:
        r = VideoReader(url, process_fps=5, retry_s=0.1)
        t = [f.time_s for f in r]
        assert len(served) == 2 and len(r.events) == 1 and "reconnecting (1/3)" in r.events[0]
        assert np.all(np.diff(t) > 0) and len(t) > 15  # the clock goes on across the reconnection
        r = VideoReader(url, process_fps=5, retry_s=0.1, duration_s=1.0)
        assert [f.time_s for f in r] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    finally:
        srv.shutdown()
