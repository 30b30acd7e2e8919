"""Plain CSV reader and traits reader: happy paths and precise errors on malformed input."""
import numpy as np
import pytest

from piaa.data import RatingsFormatError, Scale, load_dataset, read_ratings_csv, read_traits_csv


def write(tmp_path, text, name="r.csv", encoding="utf-8", raw=None):
    p = tmp_path / name
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_bytes(text.encode(encoding))
    return p


def test_basic_inferred_scale_and_types(tmp_path):
    p = write(tmp_path, "user,image,rating\n1,a.jpg,3\n1,b.jpg,5\n17,a.jpg,1\n")
    ds = read_ratings_csv(p)
    assert ds.scale == Scale(1.0, 5.0, 5)
    assert ds.user_ids == ["1", "17"]
    assert ds.ratings["score"].dtype == float
    assert ds.ratings_of("1").to_dict() == {"a.jpg": 3.0, "b.jpg": 5.0}
    assert np.allclose(ds.image_distributions().sum(axis=1), 1)


def test_custom_columns_single_user_and_score_alias(tmp_path):
    p = write(tmp_path, "file,stars\nx.jpg,4\ny.jpg,2\n")
    ds = read_ratings_csv(p, image_col="file", score_col="stars", single_user="me", scale=(1, 5))
    assert ds.user_ids == ["me"] and len(ds.ratings) == 2
    q = write(tmp_path, "user,image,score\n1,a,2\n", name="s.csv")
    assert read_ratings_csv(q).ratings["score"].tolist() == [2.0]


def test_criterion_filter(tmp_path):
    p = write(tmp_path, "user,image,rating_type,rating\n1,a,appeal,3\n1,a,realism,5\n2,a,appeal,4\n")
    ds = read_ratings_csv(p)
    assert ds.criteria == ["appeal", "realism"]
    only = read_ratings_csv(p, criterion="appeal")
    assert len(only.ratings) == 2
    with pytest.raises(RatingsFormatError, match="no rows with rating_type='beauty'"):
        read_ratings_csv(p, criterion="beauty")


def test_missing_column_names_file_line_and_columns(tmp_path):
    p = write(tmp_path, "user,picture,rating\n1,a,3\n")
    with pytest.raises(RatingsFormatError) as e:
        read_ratings_csv(p)
    assert e.value.file == str(p) and e.value.line == 1 and "'image'" in e.value.problem
    assert "picture" in str(e.value)


def test_non_numeric_and_out_of_range(tmp_path):
    p = write(tmp_path, "user,image,rating\n1,a,3\n1,b,good\n")
    with pytest.raises(RatingsFormatError) as e:
        read_ratings_csv(p)
    assert e.value.line == 3 and "not a number" in e.value.problem and "'good'" in e.value.problem
    q = write(tmp_path, "user,image,rating\n1,a,3\n\n1,b,9\n", name="q.csv")
    with pytest.raises(RatingsFormatError) as e:
        read_ratings_csv(q, scale=(1, 7))
    assert e.value.line == 4 and "above" in e.value.problem and "7" in e.value.problem


def test_missing_value_and_wrong_field_count(tmp_path):
    p = write(tmp_path, "user,image,rating\n1,a,\n")
    with pytest.raises(RatingsFormatError, match="line 2: missing 'rating'"):
        read_ratings_csv(p)
    q = write(tmp_path, "user,image,rating\n1,a,3\n1,b,3,extra\n", name="q.csv")
    with pytest.raises(RatingsFormatError, match=r"line 3: expected 3 fields"):
        read_ratings_csv(q)


def test_duplicates_error_or_combined(tmp_path):
    p = write(tmp_path, "user,image,rating\n1,a,3\n2,a,4\n1,a,5\n")
    with pytest.raises(RatingsFormatError) as e:
        read_ratings_csv(p)
    assert e.value.line == 4 and "line 2" in e.value.problem and "duplicate" in e.value.problem
    ds = read_ratings_csv(p, duplicates="mean")
    assert ds.ratings_of("1")["a"] == 4.0 and any("duplicate" in n for n in ds.notes)
    assert read_ratings_csv(p, duplicates="last").ratings_of("1")["a"] == 5.0


def test_encodings(tmp_path):
    p = write(tmp_path, "user,image,rating\nJosé,café.jpg,3\n", encoding="utf-8-sig")
    ds = read_ratings_csv(p)
    assert ds.user_ids == ["José"] and "user" in ds.ratings.columns  # BOM stripped from the header
    q = write(tmp_path, "user,image,rating\nJosé,café.jpg,3\n", name="l.csv", encoding="latin-1")
    ds = read_ratings_csv(q)
    assert ds.user_ids == ["José"] and any("latin-1" in n and "line 2" in n for n in ds.notes)
    u = write(tmp_path, "user,image,rating\n1,a,3\n", name="u.csv", encoding="utf-16")
    with pytest.raises(RatingsFormatError, match="UTF-16"):
        read_ratings_csv(u)


def test_line_endings(tmp_path):
    crlf = write(tmp_path, "user,image,rating\r\n1,a,3\r\n2,b,4\r\n", name="crlf.csv")
    assert len(read_ratings_csv(crlf).ratings) == 2
    cr = write(tmp_path, "user,image,rating\r1,a,3\r2,b,4\r", name="cr.csv")
    with pytest.raises(RatingsFormatError) as e:
        read_ratings_csv(cr)
    assert e.value.line == 1 and "CR-only" in e.value.problem
    assert len(read_ratings_csv(cr, line_endings="cr").ratings) == 2
    mixed = write(tmp_path, "user,image,rating\n1,a,3\r2,b,4\n", name="m.csv")
    with pytest.raises(RatingsFormatError, match="line 2: mixed line endings"):
        read_ratings_csv(mixed)


def test_traits_and_unknown_users(tmp_path):
    t = write(tmp_path, "user,age,gender\n1,22,male\n2,,female\n", name="users.csv")
    tr = read_traits_csv(t)
    assert tr.index.tolist() == ["1", "2"] and tr["age"].dtype == float and np.isnan(tr.loc["2", "age"])
    p = write(tmp_path, "user,image,rating\n1,a,3\n3,a,4\n")
    with pytest.raises(RatingsFormatError) as e:
        read_ratings_csv(p, users=t)
    assert e.value.line == 3 and "unknown user '3'" in e.value.problem
    d = write(tmp_path, "user,age\n1,3\n1,4\n", name="dup.csv")
    with pytest.raises(RatingsFormatError, match="line 3: user '1' listed twice"):
        read_traits_csv(d)


def test_registry_csv_and_unknown_database(tmp_path):
    p = write(tmp_path, "user,image,rating\n1,a,3\n")
    assert load_dataset("csv", p).summary()["ratings"] == 1
    with pytest.raises(ValueError, match="unknown database"):
        load_dataset("nope", p)
    with pytest.raises(FileNotFoundError):
        load_dataset("csv", tmp_path / "absent.csv")
