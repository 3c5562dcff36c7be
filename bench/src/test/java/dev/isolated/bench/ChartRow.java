package dev.isolated.bench;

/**
 * One bar of the chart.
 *
 * @param label the text left of the bar
 * @param measurement its figure
 */
record ChartRow(String label, Measurement measurement) {}
