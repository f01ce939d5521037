"""Training: the LOSO runner shared by AMMSM and ME-TST (:mod:`melib.train.loso`), the AMMSM loop and
search (:mod:`melib.train.ammsm`, :mod:`melib.train.search`, :mod:`melib.train.regularizers`).

Kept import-light on purpose: import the submodule you need (``from melib.train.loso import run_loso``),
so the ME-TST trainer imports without pulling in AMMSM code.
"""
