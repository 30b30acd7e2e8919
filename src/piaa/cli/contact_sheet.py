"""Contact sheets of culling groups: a self-contained HTML page (thumbnails inlined) or one PNG image.

One row per group of two or more photos, the pick first with a green frame, the others dimmed with a red
frame; singletons are listed after the groups (HTML) or left out (PNG). Thumbnails go through piaa's image
loader (HEIC, RAW previews, orientation) at a small size.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Optional

THUMB = 180


def _thumb(path: str):
    from piaa.io.images import load_image_safe

    im, _ = load_image_safe(path, target_size=THUMB)
    if im is None:
        return None
    im.thumbnail((THUMB, THUMB))
    return im


def _data_uri(im) -> str:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _caption(m) -> str:
    bits = [Path(m["path"]).name]
    if m.get("combined") is not None:
        bits.append(f"score {m['combined']:+.2f}")
    if m.get("your_rating"):
        bits.append(f"your {m['your_rating']:g}★")
    if m.get("taken"):
        bits.append(m["taken"].replace("T", " ")[:22])
    return " · ".join(bits)


def render_html(rep: dict) -> bytes:
    rows = []
    groups = [g for g in rep["group_list"] if g["size"] > 1]
    alone = [g for g in rep["group_list"] if g["size"] == 1]
    for k, g in enumerate(groups, 1):  # numbered among the groups shown, as `piaa cull` prints them
        cells = []
        for m in g["members"]:
            im = _thumb(m["path"])
            img = f'<img src="{_data_uri(im)}" alt="">' if im is not None else '<div class="na">unreadable</div>'
            cls = "pick" if m["pick"] else "reject"
            why = "; ".join(m.get("reasons") or [])
            why = f'<div class="why">{html.escape(why)}</div>' if why else ""
            cells.append(f'<figure class="{cls}">{img}<figcaption>{html.escape(_caption(m))}{why}</figcaption>'
                         '</figure>')
        rows.append(f'<section><h2>group {k} of {len(groups)} · {g["size"]} photos · keep: '
                    f'{html.escape(Path(g["pick"]).name)} ({html.escape(g["why"])})</h2>{"".join(cells)}</section>')
    single = "".join(f"<li>{html.escape(g['pick'])}</li>" for g in alone)
    head = (f"{rep['photos']} photos, {rep['groups_of_2_or_more']} groups of near-duplicates or bursts: "
            f"{rep['picks']} kept, {rep['rejects']} to reject; {len(alone)} photos stand alone. "
            f"Taste: {rep['taste']}; quality: {rep['quality'] or 'no quality model'}.")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>piaa cull</title><style>
body{{font-family:sans-serif;margin:1em;background:#222;color:#ddd}} section{{margin:1em 0}}
h2{{font-size:1em;font-weight:normal}} figure{{display:inline-block;margin:4px;vertical-align:top;width:{THUMB + 8}px}}
figure img{{max-width:{THUMB}px;max-height:{THUMB}px}} .pick{{border:4px solid #2c2}}
.reject{{border:4px solid #c22;opacity:.55}} figcaption{{font-size:11px;word-break:break-all}}
.why{{color:#f99;font-size:12px}} .na{{width:{THUMB}px;height:{THUMB // 2}px;background:#444}}</style></head><body>
<h1>piaa cull</h1><p>{html.escape(head)}</p>{''.join(rows)}
<h2>alone ({len(alone)})</h2><ul>{single}</ul></body></html>
"""
    return page.encode("utf-8")


def render_png(rep: dict, max_rows: Optional[int] = 200) -> bytes:
    from PIL import Image, ImageDraw

    groups = [g for g in rep["group_list"] if g["size"] > 1]
    n_groups, groups = len(groups), groups[:max_rows]
    cols = max([g["size"] for g in groups] + [1])
    cell, pad = THUMB + 12, 6
    row = cell + 30   # the reasons go under each thumbnail
    sheet = Image.new("RGB", (cols * cell + pad, max(1, len(groups)) * row + pad), (34, 34, 34))
    draw = ImageDraw.Draw(sheet)
    for r, g in enumerate(groups):
        y = pad + r * row
        draw.text((pad, y), f"group {r + 1} of {n_groups}", fill=(220, 220, 220))
        for c, m in enumerate(g["members"]):
            x = pad + c * cell
            colour = (40, 200, 40) if m["pick"] else (200, 40, 40)
            draw.rectangle([x, y + 12, x + cell - pad, y + 12 + cell - pad], outline=colour, width=4)
            im = _thumb(m["path"])
            if im is not None:
                if not m["pick"]:
                    im = Image.blend(im, Image.new("RGB", im.size, (34, 34, 34)), 0.45)
                sheet.paste(im, (x + 6, y + 18))
            why = "; ".join(m.get("reasons") or [])
            if why:
                draw.text((x, y + 12 + cell - pad + 2), why[: cell // 6], fill=(240, 150, 150))
    buf = io.BytesIO()
    sheet.save(buf, "PNG")
    return buf.getvalue()
