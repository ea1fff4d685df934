"""Three ways to show a saliency map (paper, Section 4.1) and the Figure-5 grid.

* :func:`heatmap`: a warm/cold colour map blended over the image. Red means important, blue means
  indecisive (matplotlib's ``"jet"`` map, as in the paper's Figure 5).
* :func:`opacity`: the importance becomes the opacity of the image over a blank (white) frame:
  ``pixel = image * s + white * (1 - s)``.
* :func:`edges`: the edges of the image (Sobel gradient magnitude of the grey image), drawn dark on
  white, kept only where the saliency is high: ``pixel = 255 * (1 - e * s)`` with ``e`` the edge
  strength in ``[0, 1]``.

The saliency ``s`` is used **linearly**: no gamma, no squaring, no thresholding. A map already in
``[0, 1]`` is used as it is; any other map is min-max scaled to ``[0, 1]`` first (a constant map
becomes all zeros). A map whose size differs from the image is resized bilinearly.

**Robust scaling** (``scale="robust"``, :func:`robust_scale`): ``s / q`` clipped to ``[0, 1]``,
with ``q`` the ``percentile`` (default 99th) of the map. Pixel methods (gradient, guided
backprop, DeconvNet, LRP, SmoothGrad) put their largest values on a handful of pixels: min-max
scaling then leaves 99 % of the map near 0 (a blue wash, a blank opacity or edge view); dividing
by the 99th percentile lets the bulk of the map show while one outlier pixel cannot set the scale.

**Signed maps** (:func:`signed_heatmap`): LRP relevance and the gradient have a sign; they are
drawn with a diverging colour map (``"bwr"``: blue negative, white 0, red positive) centred at 0,
``a / q`` clipped to ``[-1, 1]`` with ``q`` the 99th percentile of ``|a|`` (so ``vmin = -vmax``).

**Projections** (:func:`projection_image`): a signed ``(3, H, W)`` signal back in pixel space
(DeconvNet) as a picture, grey = 0, each channel divided by the 99th percentile of ``|p|``.

**Figures** (:func:`show`, :func:`grid`) carry a colour bar, name the explained class
(:func:`panel_title`, :func:`explained_class`), put methods in course order (:func:`course_order`)
and write "does not apply: <reason>" where a method cannot explain a model (:class:`NotApplicable`,
or the exception the method raised).

Example::

    >>> import numpy as np
    >>> img = np.full((4, 6, 3), 200, dtype=np.uint8)
    >>> s = np.zeros((4, 6)); s[1, 2] = 1.0
    >>> opacity(img, s)[1, 2].tolist(), opacity(img, s)[0, 0].tolist()
    ([200, 200, 200], [255, 255, 255])
"""

from .figures import NotApplicable, grid, representations, show, show_masks
from .maps import ROBUST_PERCENTILE, as_image, as_saliency, display_map, robust_scale, signed_map
from .names import (
    ExplainedClass,
    course_order,
    explained_class,
    method_title,
    panel_title,
)
from .views import (
    REPRESENTATIONS,
    edge_strength,
    edges,
    heatmap,
    opacity,
    projection_image,
    render,
    signed_heatmap,
)

__all__ = [
    "REPRESENTATIONS",
    "ROBUST_PERCENTILE",
    "ExplainedClass",
    "NotApplicable",
    "as_image",
    "as_saliency",
    "course_order",
    "display_map",
    "edge_strength",
    "edges",
    "explained_class",
    "grid",
    "heatmap",
    "method_title",
    "opacity",
    "panel_title",
    "projection_image",
    "render",
    "representations",
    "robust_scale",
    "show",
    "show_masks",
    "signed_heatmap",
    "signed_map",
]
