"""Family ``classifier``: a plain classifier q(y|x) trained with cross-entropy on the labeled
examples and virtual adversarial training on the unlabeled ones (``semisupervised.vat_*``): the
VAT component of the semi-supervised AAE, alone, as its baseline. No table of its own."""
