"""How results are presented: the one result protocol and the figures.

Owns ``result`` (the :class:`~popliteal.present.result.Result` mixin every result object
uses: ``frame``, ``to_dict``, ``to_json``, ``_repr_html_``, ``plot``) and ``figures``
(matplotlib drawings of results, styled by ``popliteal.mplstyle``). Figures draw plain
data handed to them and never compute a posterior, so this layer sits below the engine:
it may import only :mod:`popliteal.common` and :mod:`popliteal.network`.
"""
