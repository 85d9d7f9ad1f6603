package org.gptneo.parallel;

/** How a collective combines the ranks' values, element by element. */
public enum ReduceOp {
    SUM, MAX, MIN,
    /** The sum divided by the group's size (a data-parallel gradient mean). */
    AVG
}
