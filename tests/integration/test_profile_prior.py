"""`piaa profile prior` + `piaa profile create --prior` on real OASIS-beauty raters (small, through the CLI)."""
import json

import pandas as pd
import pytest

pytestmark = pytest.mark.shared_data


def test_build_a_community_prior_and_learn_a_profile_with_it(shared_data, tmp_path):
    from piaa.cli.main import main

    r = pd.read_csv(shared_data / "oasis-beauty" / "ratings.csv", dtype={"user": str})
    subsets = pd.read_csv(shared_data / "oasis" / "subsets.csv")
    imgs = sorted(subsets[subsets["subset"] == "subset2"]["image"])[:60]   # 60 images keep extraction short
    r = r[r["image"].isin(imgs)]
    people = sorted(r["user"].unique(), key=int)
    community, me = people[:40], people[-1]
    r[r["user"].isin(community)].to_csv(tmp_path / "club.csv", index=False)
    r[r["user"] == me][["image", "rating"]].to_csv(tmp_path / "mine.csv", index=False)
    images = shared_data / "oasis" / "images"
    prior = tmp_path / "club_prior.npz"
    assert main(["profile", "prior", "--ratings", str(tmp_path / "club.csv"), "--images", str(images),
                 "--output", str(prior), "--quiet"]) == 0
    from piaa.personalize.prior_probe import TastePrior

    p = TastePrior.load(prior)
    assert p.meta["raters"] == 40 and p.meta["images"] == 60 and p.factor.shape == (3120, 40)
    store = str(tmp_path / "profiles.sqlite")
    assert main(["profile", "create", "me", "--ratings", str(tmp_path / "mine.csv"), "--images", str(images),
                 "--scale", "1", "7", "--prior", str(prior), "--store", store, "--format", "json",
                 "--no-assess"]) == 0
    from piaa.profiles.profile import Profile

    prof = Profile.load("me", store=store)
    assert prof.method == "probe-prior" and prof.estimator.prior_ref_ == f"file:{prior.resolve()}"
    # the wrong method with --prior, a missing prior file and a bad CSV are clear errors
    assert main(["profile", "create", "x", "--ratings", str(tmp_path / "mine.csv"), "--images", str(images),
                 "--method", "probe", "--prior", str(prior), "--store", store]) == 1
    assert main(["profile", "create", "x", "--ratings", str(tmp_path / "mine.csv"), "--images", str(images),
                 "--prior", str(tmp_path / "none.npz"), "--store", store]) == 1
    (tmp_path / "bad.csv").write_text("user,image,rating\n1,a.jpg,notanumber\n")
    assert main(["profile", "prior", "--ratings", str(tmp_path / "bad.csv"), "--output", str(tmp_path / "b.npz")]) == 1
    json.dumps(p.meta)
