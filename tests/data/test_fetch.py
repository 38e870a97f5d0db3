"""``evalmt data fetch``: downloads from a server on 127.0.0.1, checksums, nothing half-written."""

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from evalmt.cli import main
from evalmt.data import fetch
from evalmt.data.fetch import DataFile, DataSet, fetch_dataset
from evalmt.errors import DataError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FILES = {"a.src.zh": "一\n二\n".encode(), "a.ref.en": b"one\ntwo\n"}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` by name; ``server.mode[name]`` breaks one file on purpose."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        name = self.path.rsplit("/", 1)[-1]
        self.server.requests.append(self.path)
        data = self.server.files.get(name)
        mode = self.server.mode.get(name)
        if data is None or mode == "404":
            self.send_error(404, "Not Found")
            return
        if mode == "corrupt":
            data = data[:-1] + b"X"
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if mode == "cut" else data)
        if mode == "cut":  # announce the full length, then hang up halfway
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.mode, httpd.requests = dict(FILES), {}, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def tiny(monkeypatch):
    files = tuple(DataFile(f"txt/x/{n}", hashlib.sha256(d).hexdigest(), len(d))
                  for n, d in FILES.items())
    ds = DataSet("tiny-zh-en", "test", "org/repo", "c0ffee", files)
    monkeypatch.setattr(fetch, "catalogue", lambda: {"tiny-zh-en": ds})
    return ds


def _url(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


def _left(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else []


def test_fetch_stores_the_set_whole(server, tiny, tmp_path):
    folder = fetch_dataset("tiny-zh-en", data_dir=tmp_path / "d", base_url=_url(server),
                           timeout=5)
    assert folder == tmp_path / "d" / "tiny-zh-en"
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    assert server.requests == [f"/org/repo/c0ffee/txt/x/{n}" for n in FILES]
    # already there and intact: nothing is downloaded again
    fetch_dataset("tiny-zh-en", data_dir=tmp_path / "d", base_url=_url(server), timeout=5)
    assert len(server.requests) == 2


@pytest.mark.parametrize(("mode", "message"), [
    ("corrupt", r"a.ref.en: sha256 [0-9a-f]{64} but tiny-zh-en pins [0-9a-f]{64} "
                r"\(commit c0ffee\); nothing was stored"),
    ("404", r"a.ref.en: HTTP 404 Not Found; nothing was stored"),
    ("cut", r"a.ref.en: transfer interrupted after 4 of 8 bytes; nothing was stored"),
])
def test_failures_leave_nothing(server, tiny, tmp_path, mode, message):
    server.mode["a.ref.en"] = mode  # the second file: the first was already downloaded
    with pytest.raises(DataError, match=message):
        fetch_dataset("tiny-zh-en", data_dir=tmp_path / "d", base_url=_url(server), timeout=5)
    assert _left(tmp_path / "d") == []  # no set folder, no staging folder


def test_unreachable_server_and_unknown_set(tiny, tmp_path):
    with pytest.raises(DataError, match=r"download failed .*nothing was stored"):
        fetch_dataset("tiny-zh-en", data_dir=tmp_path, base_url="http://127.0.0.1:9", timeout=5)
    with pytest.raises(DataError, match=r"unknown data set 'tiny-zh-e'; did you mean "
                                        r"'tiny-zh-en'\?"):
        fetch_dataset("tiny-zh-e", data_dir=tmp_path)


def test_damaged_existing_set_is_not_overwritten(server, tiny, tmp_path):
    folder = fetch_dataset("tiny-zh-en", data_dir=tmp_path, base_url=_url(server), timeout=5)
    (folder / "a.ref.en").write_bytes(b"edited\n")
    with pytest.raises(DataError, match="exists but does not hold tiny-zh-en intact"):
        fetch_dataset("tiny-zh-en", data_dir=tmp_path, base_url=_url(server), timeout=5)
    assert (folder / "a.ref.en").read_bytes() == b"edited\n"


def test_local_folder_stands_in(tiny, tmp_path):
    src = tmp_path / "copy"
    src.mkdir()
    for name, data in FILES.items():
        (src / name).write_bytes(data)
    folder = fetch_dataset("tiny-zh-en", data_dir=tmp_path / "d", source=src)
    assert (folder / "a.src.zh").read_bytes() == FILES["a.src.zh"]
    (src / "a.src.zh").write_bytes(b"other\n")
    with pytest.raises(DataError, match="a.src.zh: sha256"):
        fetch_dataset("tiny-zh-en", data_dir=tmp_path / "e", source=src)
    assert _left(tmp_path / "e") == []


@pytest.mark.parametrize("name", ["wmt23-zh-en", "wmt22-zh-en"])
def test_real_sets_over_http_then_a_config_names_them(server, tmp_path, capsys, name):
    """The pinned hashes are the shared copies' hashes; a config's data:// finds the set."""
    folder = SHARED / name
    if not folder.is_dir():
        pytest.skip(f"real WMT data not found at {folder}")
    server.files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    data_dir = tmp_path / "cache"
    assert main(["data", "fetch", name, "--data-dir", str(data_dir),
                 "--mirror", _url(server)]) == 0
    assert f"use data://{name}/FILE" in capsys.readouterr().out
    dataset = fetch.get_dataset(name)
    assert {p.name for p in (data_dir / name).iterdir()} == \
        {f.name for f in dataset.files} | {fetch.RECORD}
    assert all(r.startswith(f"/{dataset.repository}/{dataset.commit}/txt/")
               for r in server.requests)
    year = name[3:5]
    import yaml

    from evalmt.config import load_config

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "name": "x", "data_dir": str(data_dir),
        "data": [{"reader": "text",
                  "source": f"data://{name}/generaltest20{year}.zh-en.src.zh",
                  "references": [f"data://{name}/generaltest20{year}.zh-en.ref.*.en"]}],
        "systems": [{"name": "{system}", "type": "hypotheses",
                     "path": f"data://{name}/generaltest20{year}.zh-en.hyp.*.en"}]}))
    config = load_config(tmp_path / "c.yaml")
    assert len(config.systems) == sum(".hyp." in f.name for f in dataset.files)


def test_missing_set_in_a_config_says_how_to_fetch(tmp_path):
    import yaml

    from evalmt.config import load_config
    from evalmt.errors import ConfigError

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "name": "x", "data_dir": "nowhere",
        "data": [{"reader": "text", "source": "data://wmt23-zh-en/s.zh", "references": ["r"]}],
        "systems": [{"name": "c", "type": "copy"}]}))
    with pytest.raises(ConfigError, match=r"data.0: data://wmt23-zh-en/s.zh: data set "
                                          r"'wmt23-zh-en' is not in .*nowhere; run `evalmt "
                                          r"data fetch wmt23-zh-en`"):
        load_config(tmp_path / "c.yaml")


def test_cli_list(capsys):
    assert main(["data", "fetch", "--list"]) == 0
    out = capsys.readouterr().out
    assert "wmt23-zh-en\t17 files\twmt-conference/wmt23-news-systems@" in out
