"""Distributed scoring: SOURCE kinds, webdataset shards made here, the per-part worker, and the Ray Data
pipeline on a local Ray (same scores as single-process, per-photo errors, resume without duplicates)."""
import io
import json
import os
import tarfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from piaa.distributed.sources import SourceError, open_source, webdataset_key
from piaa.models.giaa import GenericHead
from piaa.models.scorer import load_scorer, make_model_state
from piaa.state import save_state

LITE0_MULTILEVEL_DIM = 3120


def _jpeg(seed, size=(72, 56)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def make_shard(path, samples):
    """A webdataset shard as img2dataset writes it: KEY.jpg + KEY.txt + KEY.json per sample."""
    with tarfile.open(path, "w") as tf:
        for key, data in samples:
            for ext, payload in ((".jpg", data), (".txt", b"a caption"), (".json", json.dumps({"key": key}).encode())):
                info = tarfile.TarInfo(key + ext)
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((40, LITE0_MULTILEVEL_DIM)))
    D = rng.dirichlet(np.ones(7), size=40)
    head = GenericHead((1, 7, 7), hidden=(16,), epochs=3, components=8).fit(X, D)
    path = tmp_path_factory.mktemp("model") / "dist-model.npz"
    save_state(path, make_model_state(head, "dist-model", "efficientnet_lite0", "multilevel", "random numbers"))
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    photos = root / "photos"
    (photos / "sub").mkdir(parents=True)
    for i in range(4):
        (photos / f"p{i}.jpg").write_bytes(_jpeg(i))
    (photos / "sub" / "deep.jpg").write_bytes(_jpeg(9))
    (photos / "broken.jpg").write_bytes(b"not an image")
    shards = root / "shards"
    shards.mkdir()
    make_shard(shards / "00000.tar", [(f"{i:09d}", _jpeg(100 + i)) for i in range(5)])
    make_shard(shards / "00001.tar", [("000000005", _jpeg(105)), ("000000006", b"\xff\xd8 broken jpeg")])
    (shards / "00000.parquet").write_bytes(b"img2dataset metadata, ignored")
    return root


# ---- sources (no Ray) -----------------------------------------------------------------------------------------
def test_folder_source_is_recursive_and_cut_into_parts(data):
    src = open_source(data / "photos", part_size=4)
    assert src.kind == "files" and src.n_images == 6
    assert [len(p) for p in src.parts] == [4, 2] and [p.index for p in src.parts] == [0, 1]
    assert any(p.endswith(os.path.join("sub", "deep.jpg")) for part in src.parts for p in part.paths)
    assert src.fingerprint() == open_source(data / "photos", part_size=4).fingerprint()
    assert src.fingerprint() != open_source(data / "photos", part_size=3).fingerprint()


def test_path_list_and_parquet_sources(data, tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text(f"# photos\n{data / 'photos' / 'p0.jpg'}\n\n../{tmp_path.name}/rel.jpg\n")
    src = open_source(lst)
    assert src.parts[0].paths == [str(data / "photos" / "p0.jpg"), str(tmp_path / "rel.jpg")]
    pq.write_table(pa.table({"path": ["a.jpg", "b.jpg"], "caption": ["x", "y"]}), tmp_path / "m.parquet")
    assert open_source(tmp_path / "m.parquet").parts[0].paths == [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    pq.write_table(pa.table({"url": ["a.jpg"]}), tmp_path / "bad.parquet")
    with pytest.raises(SourceError, match="no `path` column"):
        open_source(tmp_path / "bad.parquet")
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "missing")


def test_tar_shards_by_folder_file_and_glob(data):
    src = open_source(data / "shards", part_size=3)
    assert src.kind == "tar" and src.n_images == 7
    assert [(os.path.basename(p.shard), p.keys) for p in src.parts] == [
        ("00000.tar", ["000000000", "000000001", "000000002"]), ("00000.tar", ["000000003", "000000004"]),
        ("00001.tar", ["000000005", "000000006"])]
    assert open_source(data / "shards" / "00001.tar").n_images == 2
    assert open_source(str(data / "shards" / "*.tar")).n_images == 7
    assert webdataset_key("dir/000000017.jpg") == "dir/000000017" and webdataset_key("a.b.png") == "a"


def test_part_runner_scores_tar_members_like_single_process(data, model_file, tmp_path):
    from piaa.distributed.worker import PartRunner

    src = open_source(data / "shards", part_size=10)
    runner = PartRunner([model_file], engine="auto", cache=None)
    out = runner.run(src.parts[1], tmp_path)  # 00001.tar: one good photo, one broken
    assert out["n"] == 2 and out["n_errors"] == 1
    table = pq.read_table(tmp_path / "part-0000001.parquet").to_pylist()
    assert [r["key"] for r in table] == ["000000005", "000000006"] and table[0]["shard"] == "00001.tar"
    assert table[0]["error"] is None and table[1]["score"] is None and table[1]["error"]
    ref = load_scorer(model_file, cache=None).score([_jpeg(105)])[0]
    assert abs(table[0]["score"] - ref["score"]) <= 1e-9
    assert np.allclose(table[0]["distribution"], ref["distribution"], atol=1e-9)
    assert not list(tmp_path.glob("*.tmp"))


# ---- the Ray Data pipeline on a local Ray ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    from piaa.distributed.pipeline import start_ray

    start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.mark.slow  # two Ray runs; test_ray_resume_... keeps the pipeline in the default run
def test_ray_run_on_folder_and_tar_shards_matches_single_process(local_ray, data, model_file, tmp_path):
    from piaa.distributed import run_distributed

    out = tmp_path / "folder.parquet"
    s = run_distributed(data / "photos", out, models=[model_file], workers=2, part_size=4, progress=False)
    assert (s.n_images, s.n_scored, s.n_errors, s.parts) == (6, 5, 1, 2)
    rows = pq.read_table(out).to_pylist()
    single = {r["path"]: r for r in load_scorer(model_file, cache=None).score([r["path"] for r in rows])}
    for r in rows:
        ref = single[r["path"]]
        if "error" in ref:
            assert r["score"] is None and r["error"] == ref["error"]
        else:
            assert r["error"] is None and abs(r["score"] - ref["score"]) <= 1e-6
    assert not (tmp_path / "folder.parquet.parts").exists()

    out = tmp_path / "tar.parquet"
    s = run_distributed(data / "shards", out, models=[model_file], workers=2, part_size=2, progress=False)
    keys = pq.read_table(out, columns=["key"]).column("key").to_pylist()
    assert keys == [f"{i:09d}" for i in range(7)] and (s.n_scored, s.n_errors) == (6, 1)


def test_ray_resume_keeps_finished_parts_and_adds_no_duplicates(local_ray, data, model_file, tmp_path):
    from piaa.distributed import run_distributed
    from piaa.distributed.pipeline import MANIFEST, _manifest
    from piaa.distributed.worker import PartRunner, part_file

    out = tmp_path / "resumed.parquet"
    parts_dir = tmp_path / "resumed.parquet.parts"
    parts_dir.mkdir()
    src = open_source(data / "shards", part_size=2)
    (parts_dir / MANIFEST).write_text(json.dumps(_manifest(data / "shards", src, [model_file], [], 2)))
    # part 1 finished before the "kill"; mark its rows so a recomputation would show
    table = PartRunner([model_file], cache=None).score_part(src.parts[1])
    table = table.set_column(table.schema.get_field_index("score"), "score", pa.array([-1.0] * table.num_rows))
    pq.write_table(table, part_file(parts_dir, 1))
    (parts_dir / "part-0000002.parquet.123.tmp").write_bytes(b"half-written part at the kill")

    with pytest.raises(ValueError, match="add --resume"):
        run_distributed(data / "shards", out, models=[model_file], part_size=2, progress=False)
    s = run_distributed(data / "shards", out, models=[model_file], workers=2, part_size=2, resume=True,
                        progress=False)
    assert s.parts_resumed == 1
    rows = pq.read_table(out).to_pylist()
    assert [r["key"] for r in rows] == [f"{i:09d}" for i in range(7)]  # every photo once, in order
    assert [r["score"] for r in rows[2:4]] == [-1.0, -1.0]  # the finished part was not redone
    assert all(r["score"] > 0 for r in rows[:2] + rows[4:6])
    assert not parts_dir.exists()
    again = run_distributed(data / "shards", out, models=[model_file], part_size=2, resume=True, progress=False)
    assert (again.parts_resumed, again.n_errors) == (3, 1)  # only the part with the broken photo is retried
    assert [r["score"] for r in pq.read_table(out).to_pylist()[2:4]] == [-1.0, -1.0]
    with pytest.raises(ValueError, match="different run"):
        parts_dir.mkdir()
        (parts_dir / MANIFEST).write_text(json.dumps({"version": 1, "fingerprint": "other"}))
        run_distributed(data / "shards", out, models=[model_file], part_size=2, resume=True, progress=False)


def test_ray_options_need_ray_and_a_parquet_output(data, tmp_path, capsys):
    from piaa.cli.main import main

    assert main(["score", str(data / "photos"), "--resume"]) == 2
    assert "--resume need --ray" in capsys.readouterr().err
    assert main(["score", str(data / "photos"), "--ray"]) == 2
    assert "needs --output" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"\.parquet"):
        from piaa.distributed import run_distributed

        run_distributed(data / "photos", tmp_path / "out.csv")


@pytest.mark.slow
def test_kill_9_then_resume_gives_every_row_once(data, model_file, tmp_path):
    """The issue's check in small: SIGKILL the CLI once parts exist, rerun with --resume."""
    import signal
    import subprocess
    import sys
    import time

    shards = tmp_path / "shards"
    shards.mkdir()
    for s in range(3):
        make_shard(shards / f"{s:05d}.tar", [(f"{s}{i:08d}", _jpeg(1000 * s + i)) for i in range(8)])
    out = tmp_path / "out.parquet"
    cmd = [sys.executable, "-m", "piaa.cli.main", "score", str(shards), "--ray", "--workers", "1", "--no-cache",
           "--model", model_file, "--batch-size", "2", "--part-size", "4", "--output", str(out), "--resume", "-q"]
    env = {**os.environ, "PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[3] / "src")}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    parts = tmp_path / "out.parquet.parts"
    deadline = time.time() + 240
    while time.time() < deadline and not list(parts.glob("part-*.parquet")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started
    proc.wait()
    assert list(parts.glob("part-*.parquet")) and not out.exists()
    subprocess.run(cmd, env=env, check=True, timeout=600)
    keys = pq.read_table(out, columns=["key"]).column("key").to_pylist()
    assert len(keys) == len(set(keys)) == 24
