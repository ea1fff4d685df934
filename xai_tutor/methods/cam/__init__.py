"""The class activation map (CAM) family: one small module per method.

Every method here computes a coarse map ``L = sum_k w_k A_k`` from the activations ``A`` of one
convolutional layer and differs from the others only in how it chooses the channel weights
``w_k`` (or position-wise weights ``w_k(a, b)``; :mod:`.base` holds what they share). FullGrad is
the exception: it sums gradient-times-bias maps of every layer and works at input resolution.

===================  ==========================================================
name (module .py)    channel weight ``w_k``
===================  ==========================================================
``cam``              fc weight of the class (needs a GAP + linear head)
``gradcam``          ``mean_ab dy/dA``
``gradcampp``        ``sum_ab alpha ReLU(dy/dA)``, closed-form ``alpha``
``xgradcam``         ``sum_ab dy/dA * A / sum_ab A``
``hirescam``         ``dy/dA_k(a, b)`` at each position (no averaging)
``layercam``         ``ReLU(dy/dA_k(a, b))`` at each position
``smoothgradcampp``  Grad-CAM++ on gradients averaged over noisy copies
``ablationcam``      ``(y - y_k) / y``, ``y_k`` = score with channel ``k`` zeroed
``scorecam``         class probability of the image masked by channel ``k``
``fullgrad``         (no channel weights) ``|x dy/dx|`` + ``sum |b dy/dz|``
===================  ==========================================================

Each method lives in the module of the same name; :mod:`.tail` runs the network after a layer
(Ablation-CAM's fast path).
"""
