"""Files and Ray: paths resolved in the driver, --resume never calls a run with errors complete,
parquet lists relative to their folder, unique shard names, brace patterns and .tar.gz shards, an --output
folder refused before any scoring. The pipeline runs here without Ray: ``_run_on_ray`` is replaced by the
same PartRunner called in this process (what each Ray actor does), so these stay in the default run."""
import gzip
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from piaa.distributed import pipeline
from piaa.distributed.sources import SourceError, expand_braces, open_source
from piaa.errors import InputError
from test_distributed import _jpeg, make_shard, model_file  # noqa: F401  (fixture)


@pytest.fixture
def in_process(monkeypatch):
    """Run the parts with PartRunner in this process, from another working folder (as a cluster worker)."""
    from piaa.distributed.worker import PartRunner

    calls = []

    def fake(todo, parts_dir, models, profiles, engine, cache, batch_size, *rest):
        calls.append([p.index for p in todo])
        here = os.getcwd()
        os.chdir("/")  # a worker's folder is not the driver's
        try:
            runner = PartRunner(models, profiles, engine=engine, cache=cache, batch_size=batch_size)
            for p in todo:
                runner.run(p, parts_dir)
        finally:
            os.chdir(here)
        return 1, 0.0

    monkeypatch.setattr(pipeline, "_run_on_ray", fake)
    return calls


def test_relative_paths_resolve_in_the_driver(tmp_path, monkeypatch, model_file, in_process):  # noqa: F811
    (tmp_path / "photos").mkdir()
    for i in range(3):
        (tmp_path / "photos" / f"p{i}.jpg").write_bytes(_jpeg(i))
    monkeypatch.chdir(tmp_path)
    src = open_source("photos")
    assert all(os.path.isabs(p) for p in src.parts[0].paths)
    import shutil

    shutil.copy(model_file, tmp_path / "mine.npz")  # a model file named relatively, too
    s = pipeline.run_distributed("photos", "out.parquet", models=["mine.npz"], part_size=2, progress=False,
                                 log=lambda m: None)
    assert (s.n_scored, s.n_errors) == (3, 0)  # the "worker" in / read absolute paths and wrote absolute parts
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["path"] for r in rows] == [str(tmp_path / "photos" / f"p{i}.jpg") for i in range(3)]


def test_resume_retries_the_parts_with_errors(tmp_path, model_file, in_process):  # noqa: F811
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        (photos / f"p{i}.jpg").write_bytes(_jpeg(i))
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"photos/p{i}.jpg\n" for i in range(4)) + "photos/late.jpg\n")
    out = tmp_path / "out.parquet"
    s = pipeline.run_distributed(lst, out, models=[model_file], part_size=2, progress=False, log=lambda m: None)
    assert (s.n_scored, s.n_errors) == (4, 1)  # late.jpg is not there yet
    (photos / "late.jpg").write_bytes(_jpeg(7))
    logs = []
    s = pipeline.run_distributed(lst, out, models=[model_file], part_size=2, resume=True, progress=False,
                                 log=logs.append)
    assert any("with errors" in m for m in logs)
    assert in_process[-1] == [2]  # only the part that had the error was scored again
    assert (s.n_scored, s.n_errors) == (5, 0)
    assert pq.read_table(out).column("error").null_count == 5
    again = pipeline.run_distributed(lst, out, models=[model_file], part_size=2, resume=True, progress=False,
                                     log=lambda m: None)
    assert again.n_scored == -1  # now complete: nothing redone


def test_resume_redoes_an_unfinished_runs_failed_parts(tmp_path, model_file, in_process):  # noqa: F811
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        (photos / f"p{i}.jpg").write_bytes(_jpeg(i))
    src = open_source(photos, part_size=2)
    out = tmp_path / "o.parquet"
    parts = tmp_path / "o.parquet.parts"
    parts.mkdir()
    import json

    (parts / pipeline.MANIFEST).write_text(json.dumps(pipeline._manifest(photos, src, [model_file], [], 2)))
    from piaa.distributed.worker import part_file

    bad = pa.table({"path": src.parts[0].paths, "score": pa.array([None, None], pa.float64()),
                    "error": ["file not found", "file not found"]})
    pq.write_table(bad, part_file(parts, 0))
    s = pipeline.run_distributed(photos, out, models=[model_file], part_size=2, resume=True, progress=False,
                                 log=lambda m: None)
    assert sorted(in_process[-1]) == [0, 1] and (s.n_scored, s.n_errors) == (4, 0)


def test_parquet_list_paths_are_relative_to_the_list_file(tmp_path, monkeypatch):
    (tmp_path / "meta").mkdir()
    pq.write_table(pa.table({"path": ["a.jpg", "../b.jpg", "/abs/c.jpg"]}), tmp_path / "meta" / "m.parquet")
    (tmp_path / "meta" / "l.txt").write_text("a.jpg\n../b.jpg\n/abs/c.jpg\n")
    monkeypatch.chdir("/")
    want = [str(tmp_path / "meta" / "a.jpg"), str(tmp_path / "b.jpg"), "/abs/c.jpg"]
    assert open_source(tmp_path / "meta" / "m.parquet").parts[0].paths == want
    assert open_source(tmp_path / "meta" / "l.txt").parts[0].paths == want  # the same rule as text lists


def test_shards_named_alike_in_two_folders_stay_apart(tmp_path, model_file):  # noqa: F811
    from piaa.distributed.worker import PartRunner

    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        make_shard(tmp_path / d / "00000.tar", [("000000000", _jpeg(ord(d)))])
    src = open_source(str(tmp_path / "*" / "00000.tar"))
    assert [p.shard_label for p in src.parts] == [os.path.join("a", "00000.tar"), os.path.join("b", "00000.tar")]
    runner = PartRunner([model_file], cache=None)
    assert runner.score_part(src.parts[1]).column("shard").to_pylist() == [os.path.join("b", "00000.tar")]
    one_folder = open_source(tmp_path / "a")
    assert one_folder.parts[0].shard_label == "00000.tar"
    # renaming a shard's folder is another run (the fingerprint includes the label)
    assert src.fingerprint() != open_source(str(tmp_path / "a" / "00000.tar")).fingerprint()


def test_brace_patterns_and_gzip_shards(tmp_path, model_file):  # noqa: F811
    from piaa.distributed.worker import PartRunner

    for i in range(3):
        make_shard(tmp_path / f"shards-{i:06d}.tar", [(f"{i}{k:08d}", _jpeg(10 * i + k)) for k in range(2)])
    assert expand_braces("s-{000..002}.tar") == ["s-000.tar", "s-001.tar", "s-002.tar"]
    assert expand_braces("{a,b}-{1..2}") == ["a-1", "a-2", "b-1", "b-2"]
    src = open_source(str(tmp_path / "shards-{000000..000002}.tar"))
    assert src.kind == "tar" and src.n_images == 6
    with pytest.raises(SourceError, match="do not exist"):
        open_source(str(tmp_path / "shards-{000000..000005}.tar"))

    make_shard(tmp_path / "plain.tar", [("000000000", _jpeg(1)), ("000000001", _jpeg(2))])
    (tmp_path / "gz").mkdir()
    (tmp_path / "gz" / "00000.tar.gz").write_bytes(gzip.compress((tmp_path / "plain.tar").read_bytes()))
    src = open_source(tmp_path / "gz" / "00000.tar.gz")
    assert src.kind == "tar" and src.n_images == 2
    assert open_source(tmp_path / "gz").n_images == 2  # a folder of .tar.gz shards
    table = PartRunner([model_file], cache=None).score_part(src.parts[0])
    assert table.column("error").null_count == 2
    plain = PartRunner([model_file], cache=None).score_part(open_source(tmp_path / "shards-000000.tar").parts[0])
    assert plain.column("score").to_pylist() != table.column("score").to_pylist()  # different photos, real reads


def test_output_folder_is_refused_before_any_scoring(tmp_path, model_file, in_process):  # noqa: F811
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "p.jpg").write_bytes(_jpeg(0))
    (tmp_path / "out.parquet").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        pipeline.run_distributed(tmp_path / "photos", tmp_path / "out.parquet", models=[model_file],
                                 progress=False)
    with pytest.raises(InputError, match="does not exist"):
        pipeline.run_distributed(tmp_path / "photos", tmp_path / "nope" / "o.parquet", models=[model_file],
                                 progress=False)
    assert in_process == []


def test_cli_ray_output_folder_is_one_line_before_scoring(tmp_path, capsys, monkeypatch):
    from piaa.cli.main import main

    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "p.jpg").write_bytes(_jpeg(0))
    (tmp_path / "res.parquet").mkdir()
    monkeypatch.setattr(pipeline, "_run_on_ray", lambda *a, **k: pytest.fail("scored before checking --output"))
    assert main(["score", str(tmp_path / "photos"), "--ray", "--output", str(tmp_path / "res.parquet")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --output") and "is a folder" in err[0]
