package dev.isolated.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.TexturePaint;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Draws the results as horizontal bars on a logarithmic millisecond axis (Java2D, headless): Isolated in
 * blue, the alternatives measured here in orange, figures quoted from the anchors hatched grey.
 */
final class BarChart {
    private static final int WIDTH = 1500;
    private static final int LEFT = 440;
    private static final int RIGHT = 120;
    private static final int TOP = 150;
    private static final int ROW = 30;
    private static final int BAR = 20;
    private static final int GROUP_GAP = 44;
    private static final int BOTTOM = 110;
    private static final Color ISOLATED = new Color(0x1f, 0x5f, 0xbf);
    private static final Color ALTERNATIVE = new Color(0xf0, 0x8a, 0x24);
    private static final Color ANCHOR = new Color(0x9a, 0x9a, 0x9a);
    private static final Color GRID = new Color(0xd8, 0xd8, 0xd8);
    private static final Color MINOR_GRID = new Color(0xef, 0xef, 0xef);

    private final List<ChartGroup> groups;
    private final String title;
    private final String subtitle;
    private final String footer;

    BarChart(List<ChartGroup> groups, String title, String subtitle, String footer) {
        this.groups = groups;
        this.title = title;
        this.subtitle = subtitle;
        this.footer = footer;
    }

    /**
     * @param png where to write the chart
     * @throws IOException when it cannot be written
     */
    void write(Path png) throws IOException {
        int rows = groups.stream().mapToInt(g -> g.rows().size()).sum();
        int height = TOP + groups.size() * GROUP_GAP + rows * ROW + BOTTOM;
        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, height);
            LogAxis axis = LogAxis.covering(groups, LEFT, WIDTH - RIGHT);
            drawHeader(g);
            int plotBottom = height - BOTTOM;
            drawGrid(g, axis, TOP - 10, plotBottom);
            int y = TOP;
            for (ChartGroup group : groups) {
                y += GROUP_GAP;
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
                g.drawString(group.title(), 16, y - 12);
                for (ChartRow row : group.rows()) {
                    drawRow(g, axis, row, y);
                    y += ROW;
                }
            }
            drawAxisLabels(g, axis, plotBottom);
        } finally {
            g.dispose();
        }
        ImageIO.write(image, "png", png.toFile());
    }

    private void drawHeader(Graphics2D g) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 22));
        g.drawString(title, 16, 34);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        g.drawString(subtitle, 16, 60);
        int x = 16;
        int y = 92;
        x = legend(g, x, y, ISOLATED, false, "Isolated");
        x = legend(g, x, y, ALTERNATIVE, false, "alternative, measured in this run");
        x = legend(g, x, y, ANCHOR, true, "quoted from performance-anchors.md, not measured here");
        g.setColor(Color.BLACK);
        g.drawString("bars: median; whiskers: p10 to p90; lower is better", x, y + 14);
    }

    private static int legend(Graphics2D g, int x, int y, Color color, boolean hatched, String text) {
        paintBar(g, new Rectangle(x, y, 28, 16), color, hatched);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        g.drawString(text, x + 36, y + 14);
        return x + 36 + g.getFontMetrics().stringWidth(text) + 28;
    }

    private static void drawGrid(Graphics2D g, LogAxis axis, int top, int bottom) {
        for (int decade = axis.minDecade(); decade < axis.maxDecade(); decade++) {
            for (int k = 2; k < 10; k++) {
                g.setColor(MINOR_GRID);
                int x = axis.x(k * Math.pow(10, decade));
                g.drawLine(x, top, x, bottom);
            }
        }
        g.setStroke(new BasicStroke(1.2f));
        for (int decade = axis.minDecade(); decade <= axis.maxDecade(); decade++) {
            g.setColor(decade == 0 ? new Color(0xa0, 0xa0, 0xa0) : GRID);
            int x = axis.x(Math.pow(10, decade));
            g.drawLine(x, top, x, bottom);
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static void drawRow(Graphics2D g, LogAxis axis, ChartRow row, int y) {
        Measurement m = row.measurement();
        boolean anchor = m.kind() == Kind.ANCHOR;
        Color color = m.kind() == Kind.ISOLATED ? ISOLATED : anchor ? ANCHOR : ALTERNATIVE;
        g.setFont(new Font(Font.SANS_SERIF, m.kind() == Kind.ISOLATED ? Font.BOLD : Font.PLAIN, 15));
        g.setColor(Color.BLACK);
        FontMetrics fm = g.getFontMetrics();
        g.drawString(row.label(), LEFT - 12 - fm.stringWidth(row.label()), y + BAR - 4);
        Stats s = m.stats();
        int end = axis.x(s.median());
        paintBar(g, new Rectangle(axis.left(), y, Math.max(2, end - axis.left()), BAR), color, anchor);
        int labelX = end + 8;
        if (s.measured()) {
            int p10 = axis.x(s.p10());
            int p90 = axis.x(s.p90());
            int mid = y + BAR / 2;
            g.setColor(Color.BLACK);
            g.setStroke(new BasicStroke(1.5f));
            g.drawLine(p10, mid, p90, mid);
            g.drawLine(p10, mid - 5, p10, mid + 5);
            g.drawLine(p90, mid - 5, p90, mid + 5);
            g.setStroke(new BasicStroke(1f));
            labelX = Math.max(labelX, p90 + 8);
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        g.setColor(Color.BLACK);
        g.drawString(LogAxis.milliseconds(s.median()), labelX, y + BAR - 4);
    }

    private static void paintBar(Graphics2D g, Rectangle r, Color color, boolean hatched) {
        if (hatched) {
            BufferedImage tile = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
            Graphics2D t = tile.createGraphics();
            t.setColor(new Color(0xe6, 0xe6, 0xe6));
            t.fillRect(0, 0, 8, 8);
            t.setColor(color);
            t.drawLine(0, 7, 7, 0);
            t.dispose();
            g.setPaint(new TexturePaint(tile, new Rectangle(0, 0, 8, 8)));
        } else {
            g.setColor(color);
        }
        g.fill(r);
        g.setColor(color.darker());
        g.draw(r);
    }

    private void drawAxisLabels(Graphics2D g, LogAxis axis, int plotBottom) {
        g.setColor(Color.BLACK);
        g.drawLine(axis.left(), plotBottom, axis.right(), plotBottom);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        FontMetrics fm = g.getFontMetrics();
        for (int decade = axis.minDecade(); decade <= axis.maxDecade(); decade++) {
            int x = axis.x(Math.pow(10, decade));
            String text = LogAxis.milliseconds(Math.pow(10, decade));
            g.drawLine(x, plotBottom, x, plotBottom + 6);
            g.drawString(text, x - fm.stringWidth(text) / 2, plotBottom + 24);
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        String axisTitle = "time per operation (logarithmic scale)";
        int mid = (axis.left() + axis.right()) / 2;
        g.drawString(axisTitle, mid - g.getFontMetrics().stringWidth(axisTitle) / 2, plotBottom + 50);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        g.drawString(footer, 16, plotBottom + 84);
    }
}
