"""Float64 reference of GPT-Neo's mixture-of-experts layer (issue 9's contract; spec section 11.4).

moe_layer(x, gate_w, fc_ws, proj_ws, settings, training, seed, layer) -> (y, aux_loss)

  x        [N, C]     the layer's input rows: the batch's B*T positions in row-major order
  gate_w   [E, C]     transformer.h.<i>.mlp.gate.weight
  fc_ws    [E, H, C]  experts.<e>.c_fc.weight stacked
  proj_ws  [E, C, H]  experts.<e>.c_proj.weight stacked
  settings dict with config.json's keys (absent key = the contract's default, see DEFAULTS)
  training whether the pass trains (capacity factor and second-expert policy of training passes)
  seed     the pass's dropout seed (only the "random" policy uses it)
  layer    the block index (only the "random" policy uses it)

Returns y [N, C] (before the layer's residual dropout, which is not part of this function) and the
aux loss [] already multiplied by moe_aux_loss_coef; both differentiable in every tensor input.

Routing: consecutive groups of moe_group_size tokens (the last may be shorter); per group capacity
max(min_capacity, min(S, floor(S * factor / E))); gate logits and softmax (float64 here, float32 in
Java); first choice = argmax, second = argmax with the first removed (ties to the lowest index);
top-1 weight g1 as is; top-2 weights g1, g2 / (g1 + g2 + 1e-9); second policy "all", "none",
"threshold" (renormalised g2 > threshold) or "random" (keep iff U < g2 / threshold, U below);
first choices take slots in token order, kept second choices after all first choices of their
expert; slots >= capacity are dropped. Aux loss per group = mean_e(density * proxy) * E^2 with
density = fraction of the group's tokens whose first choice is e (a constant) and proxy = mean gate
probability; plain mean over groups; times the coefficient.

U for token row n: splitmix_uniform(seed * 0x9E3779B97F4A7C15 - (layer + 1), n), 64-bit wrapping,
the library's dropout hash (org.gptneo.backend.DropoutHash).
"""

import math

import torch

DEFAULTS = {
    "moe_num_experts": 16,
    "moe_top_k": 2,
    "moe_activation": "relu",
    "moe_capacity_factor": 1.25,
    "moe_eval_capacity_factor": 2.0,
    "moe_min_capacity": 1,
    "moe_group_size": 1024,
    "moe_second_policy": "random",
    "moe_second_policy_eval": "all",
    "moe_second_threshold": 0.2,
    "moe_aux_loss_coef": 0.01,
}

_MASK = (1 << 64) - 1
EPSILON = 1e-9


def splitmix_uniform(seed, index):
    """DropoutHash.uniform: a float in [0, 1) from SplitMix64 of (seed, index), as Java computes it."""
    z = (seed + (index + 1) * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z = z ^ (z >> 31)
    return (z >> 40) * 2.0 ** -24


def random_seed(seed, layer):
    """The routing stream of a layer: seed * golden - (layer + 1), wrapped to 64 bits."""
    return (seed * 0x9E3779B97F4A7C15 - (layer + 1)) & _MASK


def setting(settings, key):
    return settings.get(key, DEFAULTS[key])


def capacity(group_tokens, settings, training):
    factor = setting(settings, "moe_capacity_factor" if training else "moe_eval_capacity_factor")
    experts = setting(settings, "moe_num_experts")
    by_factor = math.floor(group_tokens * factor / experts)
    return max(setting(settings, "moe_min_capacity"), min(group_tokens, by_factor))


def activation(name, h):
    if name == "relu":
        return torch.relu(h)
    if name == "gelu_new":
        return 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
    raise ValueError("moe_activation %r is not one of relu, gelu_new" % name)


def route(probs, settings, training, seed, layer):
    """(kept, first, assignments): the kept assignments as a list of (token, expert, choice), choice
    0 = first, 1 = second, in slot order per group; the first choices [N]; the assignments the policy
    kept before capacity. probs [N, E] detached float64.
    """
    n_tokens, experts = probs.shape
    top_k = setting(settings, "moe_top_k")
    policy = setting(settings, "moe_second_policy" if training else "moe_second_policy_eval")
    threshold = setting(settings, "moe_second_threshold")
    first = [int(torch.argmax(probs[n])) for n in range(n_tokens)]  # torch.argmax: the lowest index on ties
    second, second_kept = [], []
    for n in range(n_tokens):
        if top_k == 1:
            second.append(None)
            second_kept.append(False)
            continue
        masked = probs[n].clone()
        masked[first[n]] = -1.0
        e2 = int(torch.argmax(masked))
        g1, g2 = float(probs[n, first[n]]), float(probs[n, e2])
        g2 = g2 / (g1 + g2 + EPSILON)
        if policy == "all":
            keep = True
        elif policy == "none":
            keep = False
        elif policy == "threshold":
            keep = g2 > threshold
        elif policy == "random":
            keep = splitmix_uniform(random_seed(seed, layer), n) < g2 / threshold
        else:
            raise ValueError("second-expert policy %r is not one of all, random, threshold, none" % policy)
        second.append(e2)
        second_kept.append(keep)

    group_size = setting(settings, "moe_group_size")
    kept = []
    for start in range(0, n_tokens, group_size):
        stop = min(n_tokens, start + group_size)
        cap = capacity(stop - start, settings, training)
        position = [0] * experts
        for n in range(start, stop):
            if position[first[n]] < cap:
                kept.append((n, first[n], 0))
            position[first[n]] += 1
        for n in range(start, stop):
            if second_kept[n]:
                if position[second[n]] < cap:
                    kept.append((n, second[n], 1))
                position[second[n]] += 1
    return kept, first, n_tokens + sum(second_kept)


def aux_loss(probs, first, settings):
    """Load-balancing loss times the coefficient; probs [N, E] with gradient, first choices constant."""
    n_tokens, experts = probs.shape
    group_size = setting(settings, "moe_group_size")
    losses = []
    for start in range(0, n_tokens, group_size):
        stop = min(n_tokens, start + group_size)
        density = torch.zeros(experts, dtype=probs.dtype)
        for n in range(start, stop):
            density[first[n]] += 1.0
        density = density / (stop - start)
        proxy = probs[start:stop].mean(dim=0)
        losses.append((density * proxy).mean() * experts * experts)
    return torch.stack(losses).mean() * setting(settings, "moe_aux_loss_coef")


def moe_layer(x, gate_w, fc_ws, proj_ws, settings, training, seed, layer):
    experts = setting(settings, "moe_num_experts")
    top_k = setting(settings, "moe_top_k")
    if gate_w.shape[0] != experts or fc_ws.shape[0] != experts or proj_ws.shape[0] != experts:
        raise ValueError("weights have %d/%d/%d experts, settings say %d"
                         % (gate_w.shape[0], fc_ws.shape[0], proj_ws.shape[0], experts))
    if top_k not in (1, 2) or top_k > experts:
        raise ValueError("moe_top_k must be 1 or 2 and at most moe_num_experts, got %d" % top_k)
    probs = torch.softmax(x @ gate_w.T, dim=-1)                       # [N, E]
    kept, first, _ = route(probs.detach(), settings, training, seed, layer)

    if top_k == 1:
        weights = probs.gather(1, torch.tensor(first).unsqueeze(1))   # [N, 1]: g1 as is
    else:
        masked = probs.detach().clone()
        masked[torch.arange(len(first)), torch.tensor(first)] = -1.0
        choice = torch.stack([torch.tensor(first), masked.argmax(dim=1)], dim=1)  # [N, 2]
        top = probs.gather(1, choice)                                 # [N, 2]
        weights = top / (top.sum(dim=1, keepdim=True) + EPSILON)      # renormalised always

    name = setting(settings, "moe_activation")
    y = torch.zeros_like(x)
    for n, e, j in kept:                                              # every kept assignment, one at a time
        hidden = activation(name, x[n] @ fc_ws[e].T)                  # [H]
        y = y.index_add(0, torch.tensor([n]), (weights[n, j] * (hidden @ proj_ws[e].T)).unsqueeze(0))
    return y, aux_loss(probs, first, settings)
