package io.streamgpt.connectors.chunks;

import java.io.Serializable;

/**
 * How far training had come when a chunk was sent.
 *
 * @param step optimizer steps of the sender (global: the largest of the contributors')
 * @param tokens training tokens consumed (global: the sum over the contributors)
 * @param loss mean training loss over the round's steps (global: mean over the contributors)
 */
public record Progress(long step, long tokens, float loss) implements Serializable {}
