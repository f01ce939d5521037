"""Models: :mod:`melib.models.resnet` (ResNet18, AMMSM's spatial stream), :mod:`melib.models.ammsm`
(AMMSM) and :mod:`melib.models.metst` (ME-TST).

Import-light: import the submodule you need, so each model imports without the others.
"""
