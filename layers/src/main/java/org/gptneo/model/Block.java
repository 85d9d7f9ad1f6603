package org.gptneo.model;

import org.gptneo.autograd.Var;

/**
 * The parameters of one transformer block, named after their Hugging Face tensors
 * ({@code transformer.h.{i}.<field path>}). Linear weights are [out, in] like torch's nn.Linear.
 */
record Block(
        Var ln1Weight, Var ln1Bias,        // ln_1.{weight,bias}               [d]
        Var qProj, Var kProj, Var vProj,   // attn.attention.{q,k,v}_proj.weight [d, d], no bias
        Var outProj, Var outProjBias,      // attn.attention.out_proj.{weight,bias} [d, d], [d]
        Var ln2Weight, Var ln2Bias,        // ln_2.{weight,bias}               [d]
        Var fcWeight, Var fcBias,          // mlp.c_fc.{weight,bias}           [F, d], [F]
        Var projWeight, Var projBias) {    // mlp.c_proj.{weight,bias}         [d, F], [d]
}
