"""The ``[supervised]`` table (``cfg.supervised``): what the style discriminator sees."""

from __future__ import annotations

from dataclasses import dataclass

from aae.config import FamilyTable


@dataclass
class SupervisedConfig(FamilyTable):
    """Model ``supervised`` (style and content, paper §4)."""

    # the style discriminator also sees each example's one-hot label, so the style's prior is
    # matched within every class (q(z|y) = p(z)) and z cannot carry the class: the decoder has to
    # take it from the label (off: the paper's model, which matches only q(z) as a whole)
    label_discriminator: bool = False


#: this family's table: cfg.supervised, [supervised] in a file (aae.models registers it)
TABLE = SupervisedConfig
