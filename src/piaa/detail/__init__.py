"""The detail pass: what a photo shows at 100 % (focus, motion blur, noise, clipping, natural-scene statistics).

The generic and personal models see a 224-pixel thumbnail; this layer decodes the photo at the scale where its
pixels are seen at 100 % (capped for huge files) and measures from tiles what a photographer culls on first.
"""
