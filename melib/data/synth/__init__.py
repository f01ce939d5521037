"""SynthME: a synthetic micro-expression corpus written in the four real datasets' formats.

See :mod:`melib.data.synth.generate` for the parameters and design, :mod:`.face` for identities,
:mod:`.aus` for the Action-Unit motion fields and :mod:`.render` for the warping and truth flow.
"""

from melib.data.synth.aus import EMOTION_AUS, au_field, invert_flow, parse_aus, profile
from melib.data.synth.face import base_face, make_identity, render_identity
from melib.data.synth.generate import Generator, generate
from melib.data.synth.render import render_clip, render_video, warp

__all__ = ["EMOTION_AUS", "Generator", "au_field", "base_face", "generate", "invert_flow", "make_identity",
           "parse_aus", "profile", "render_clip", "render_identity", "render_video", "warp"]
