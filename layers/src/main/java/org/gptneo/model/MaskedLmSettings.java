package org.gptneo.model;

/**
 * BERT-style masking for a masked-LM model: each maskable token is selected with
 * {@code maskProbability}; a selected token becomes the mask token, except that a
 * {@code sameTokenProbability} share keep their token and a {@code randomTokenProbability} share
 * become a uniformly random id. The loss is taken at the selected positions only.
 *
 * @param maskTokenId the mask token's id, or null (then a masked-LM model is refused)
 */
public record MaskedLmSettings(Integer maskTokenId, float maskProbability, float sameTokenProbability,
                               float randomTokenProbability) {
    public static final MaskedLmSettings DEFAULT = new MaskedLmSettings(null, 0.15f, 0.10f, 0.10f);
}
