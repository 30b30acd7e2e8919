"""Faces and eyes: detection, landmarks and eye state (open / closed / unsure) from weights shipped in packages.

Nothing is downloaded at run time: every model this package loads ships inside a registry package.
"""
