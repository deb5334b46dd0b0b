"""Figure helpers: each takes matplotlib ``Axes`` and the arrays an experiment returned,
draws them in the house style (log scale for gradient norms, the median over seeds as a
line and the full range over seeds as a band) and returns the ``Axes``; none computes and
none calls ``show``. ``plotting`` stands apart from the package's floors: it imports
nothing from gradcourse.

:mod:`~gradcourse.plotting.core` holds the style
(:func:`~gradcourse.plotting.core.setup`) and the helpers every chapter shares; one
module per chapter holds that chapter's figures. All of them are reached as
``gc.plotting.<name>``.
"""

from __future__ import annotations

from . import (
    activation_zoo,
    batch_normalization,
    core,
    detecting_gradient_problems,
    elu_and_successors,
    gated_recurrent_networks,
    gradient_clipping,
    initialization,
    jacobian_products,
    leaky_relu_family,
    optimizers,
    recurrent_networks,
    residual_connections,
    sigmoid,
    tanh,
    why_deep_networks_stop_learning,
)
from .activation_zoo import *  # noqa: F403
from .batch_normalization import *  # noqa: F403
from .core import *  # noqa: F403
from .detecting_gradient_problems import *  # noqa: F403
from .elu_and_successors import *  # noqa: F403
from .gated_recurrent_networks import *  # noqa: F403
from .gradient_clipping import *  # noqa: F403
from .initialization import *  # noqa: F403
from .jacobian_products import *  # noqa: F403
from .leaky_relu_family import *  # noqa: F403
from .optimizers import *  # noqa: F403
from .recurrent_networks import *  # noqa: F403
from .residual_connections import *  # noqa: F403
from .sigmoid import *  # noqa: F403
from .tanh import *  # noqa: F403
from .why_deep_networks_stop_learning import *  # noqa: F403

__all__ = [
    *core.__all__,
    *activation_zoo.__all__,
    *elu_and_successors.__all__,
    *leaky_relu_family.__all__,
    *detecting_gradient_problems.__all__,
    *sigmoid.__all__,
    *tanh.__all__,
    *jacobian_products.__all__,
    *batch_normalization.__all__,
    *residual_connections.__all__,
    *gradient_clipping.__all__,
    *recurrent_networks.__all__,
    *gated_recurrent_networks.__all__,
    *why_deep_networks_stop_learning.__all__,
    *initialization.__all__,
    *optimizers.__all__,
]
