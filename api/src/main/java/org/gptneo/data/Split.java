package org.gptneo.data;

/** A training set and a validation set that share no sequence (see {@link SequenceDataset#split}). */
public record Split(SequenceDataset train, SequenceDataset validation) {}
