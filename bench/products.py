"""What an interpretation method's output may hold: the words a method's declaration (``Method.produces``)
and a metric family's (``Family.needs``) share, so that neither package imports the other for them."""

PRODUCTS = ("motifs", "instances", "attributions")
