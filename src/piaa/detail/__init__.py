"""The detail pass: what a photo shows at 100 % (focus, motion blur, noise, clipping, natural-scene statistics).

The generic and personal models see a 224-pixel thumbnail; this layer decodes the photo at the scale where its
pixels are seen at 100 % (capped for huge files, :mod:`piaa.detail.decode`) and measures from tiles what a
photographer culls on first: where it is in focus and how sharp its subject is (:mod:`~piaa.detail.focus`),
motion blur (:mod:`~piaa.detail.motion`), noise (:mod:`~piaa.detail.noise`) and clipped highlights and
shadows (:mod:`~piaa.detail.clipping`); :func:`piaa.detail.measure.analyze` runs them all. Faces are found by
:mod:`piaa.faces`; this layer only measures the pixels inside the boxes it is given. Scales: docs/detail.md.
"""
