// Draws the trend chart from the JSON the page carries; no data is fetched.
(function () {
  var box = document.getElementById("trend-chart");
  var data = document.getElementById("trend-data");
  if (!box || !data || !window.echarts) { return; }
  var trend = JSON.parse(data.textContent);
  var chart = echarts.init(box);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 40, bottom: 30 },
    xAxis: { type: "category", data: trend.labels },
    yAxis: { type: "value", min: 0, max: 100 },
    series: trend.series.map(function (s) {
      return { name: s.name, type: "line", data: s.data, connectNulls: true };
    })
  });
  box.setAttribute("data-rendered", "1");
  window.addEventListener("resize", function () { chart.resize(); });
})();
