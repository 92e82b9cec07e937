# frozen_string_literal: true

module JRestartBench
  # The start-latency chart, drawn with XChart (from Maven Central, resolved
  # through bench/pom.xml) into a PNG.
  module Chart
    module_function

    # series: name => [[heap GiB, ms], ...]; classpath: XChart and its dependencies.
    def write(path, classpath, title, series)
      # Before the first AWT class loads: no display is needed to draw a PNG.
      java.lang.System.setProperty("java.awt.headless", "true")
      classpath.each { |jar| require jar }
      chart = org.knowm.xchart.XYChartBuilder.new.width(1100).height(640).title(title)
                                           .xAxisTitle("touched Java heap (GiB)")
                                           .yAxisTitle("ms until /bin/true has exited and been reaped (median)")
                                           .build
      styler = chart.styler
      styler.setYAxisLogarithmic(true)
      styler.setLegendPosition(org.knowm.xchart.style.Styler::LegendPosition::OutsideE)
      styler.setXAxisDecimalPattern("0")
      styler.setMarkerSize(9)
      series.each do |name, points|
        chart.addSeries(name, points.map(&:first).to_java(:double), points.map(&:last).to_java(:double))
      end
      org.knowm.xchart.BitmapEncoder.saveBitmap(chart, path, org.knowm.xchart.BitmapEncoder::BitmapFormat::PNG)
    end
  end
end
