"""The benchmark models in JAX (pure jax.numpy, parameters as pytrees), with their losses and
the optimizers as functions a single `jax.jit` compiles with the forward pass and `jax.grad`:
W1/W3's MLP 2-16-16-1 with the hinge loss, W2's MLP, W7's transformer, W8's conv net."""
import math

import jax
import jax.numpy as jnp


def linear(key, fan_in, fan_out, dtype=jnp.float32, bias=True):
    bound = 1 / math.sqrt(fan_in)
    kw, kb = jax.random.split(key)
    p = {"w": jax.random.uniform(kw, (fan_out, fan_in), dtype, -bound, bound)}
    if bias:
        p["b"] = jax.random.uniform(kb, (fan_out,), dtype, -bound, bound)
    return p


def apply_linear(p, x):
    y = x @ p["w"].T
    return y + p["b"] if "b" in p else y


def cross_entropy(logits, labels):
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[..., None], axis=-1))


def mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    params = [linear(k, a, b) for k, a, b in zip(keys, sizes, sizes[1:])]

    def loss(params, x, y):
        for p in params[:-1]:
            x = jax.nn.relu(apply_linear(p, x))
        return cross_entropy(apply_linear(params[-1], x), y)
    return params, loss


def hinge_mlp(key, dtype):
    keys = jax.random.split(key, 3)
    params = [linear(k, a, b, dtype) for k, a, b in zip(keys, [2, 16, 16], [16, 16, 1])]

    def loss(params, x, y):
        h = x
        for p in params[:-1]:
            h = jax.nn.relu(apply_linear(p, h))
        scores = apply_linear(params[-1], h)
        l2 = sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(params))
        return jnp.mean(jax.nn.relu(1 - y * scores)) + 1e-4 * l2
    return params, loss


def layer_norm(x, p):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + 1e-5) * p["g"] + p["b"]


def gpt(key, vocab, context, width, heads, layers):
    keys = iter(jax.random.split(key, 4 + 4 * layers))
    ln = lambda: {"g": jnp.ones(width), "b": jnp.zeros(width)}
    params = {
        "wte": jax.random.normal(next(keys), (vocab, width)),
        "wpe": jax.random.normal(next(keys), (context, width)),
        "h": [{"ln_1": ln(), "attn": linear(next(keys), width, 3 * width), "proj": linear(next(keys), width, width),
               "ln_2": ln(), "fc": linear(next(keys), width, 4 * width), "fc_proj": linear(next(keys), 4 * width, width)}
              for _ in range(layers)],
        "ln_f": ln(),
    }

    def forward(params, idx):
        b, t = idx.shape
        x = params["wte"][idx] + params["wpe"][:t]
        mask = jnp.tril(jnp.ones((t, t), bool))
        d = width // heads
        for blk in params["h"]:
            q, k, v = jnp.split(apply_linear(blk["attn"], layer_norm(x, blk["ln_1"])), 3, axis=-1)
            q, k, v = (z.reshape(b, t, heads, d).transpose(0, 2, 1, 3) for z in (q, k, v))
            att = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / math.sqrt(d), -jnp.inf)
            y = (jax.nn.softmax(att, axis=-1) @ v).transpose(0, 2, 1, 3).reshape(b, t, width)
            x = x + apply_linear(blk["proj"], y)
            h = jax.nn.gelu(apply_linear(blk["fc"], layer_norm(x, blk["ln_2"])), approximate=False)
            x = x + apply_linear(blk["fc_proj"], h)
        return layer_norm(x, params["ln_f"]) @ params["wte"].T

    return params, lambda params, x, y: cross_entropy(forward(params, x), y)


def conv(key, cin, cout):
    bound = 1 / math.sqrt(cin * 9)
    return jax.random.uniform(key, (cout, cin, 3, 3), jnp.float32, -bound, bound)


def cnn(key):
    keys = jax.random.split(key, 4)
    bn = lambda c: {"g": jnp.ones(c), "b": jnp.zeros(c)}
    params = {"c1": conv(keys[0], 1, 16), "bn1": bn(16), "c2": conv(keys[1], 16, 32), "bn2": bn(32),
              "c3": conv(keys[2], 32, 64), "bn3": bn(64), "fc": linear(keys[3], 64, 10)}

    def block(x, w, p):
        x = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        mean = x.mean((0, 2, 3), keepdims=True)
        var = ((x - mean) ** 2).mean((0, 2, 3), keepdims=True)
        x = (x - mean) / jnp.sqrt(var + 1e-5) * p["g"].reshape(1, -1, 1, 1) + p["b"].reshape(1, -1, 1, 1)
        return jax.nn.relu(x)

    def loss(params, x, y):
        x = block(x, params["c1"], params["bn1"])
        x = block(x, params["c2"], params["bn2"])
        x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        x = block(x, params["c3"], params["bn3"])
        return cross_entropy(apply_linear(params["fc"], x.mean((2, 3))), y)
    return params, loss


def sgd(loss, lr):
    def update(params, x, y):
        grads = jax.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return update


class adam:
    """torch.optim.Adam's update (betas 0.9, 0.999, eps 1e-8) on (params, m, v, t)."""

    def __init__(self, loss, lr):
        self.loss, self.lr = loss, lr
        self.__name__ = "adam"

    def init(self, params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return (params, zeros, zeros, jnp.zeros((), jnp.float32))

    def __call__(self, state, x, y):
        params, m, v, t = state
        grads = jax.grad(self.loss)(params, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        step = self.lr / (1 - 0.9 ** t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - step * m / (jnp.sqrt(v) / jnp.sqrt(1 - 0.999 ** t) + 1e-8), params, m, v)
        return (params, m, v, t)
