// Labels of the page features added for issue 14 (never stale, offline base map, suggestions, checks),
// kept apart from i18n.js so that file does not grow with every feature.

import { addLabels } from "./i18n.js";

addLabels({
  zh: {
    "common.table_region": "{caption}（表格）",
    "results.question": "{what} · {place} · {radius} 公里内 · {time} 查询",
    "results.searching": "正在查找…",
    "results.failed": "查找失败：没有结果。请按提示修改后再查。",
    "results.changed": "查找条件已改动：原结果已清除，请重新查找。",
    "check.quantity_missing": "请填写数量",
    "check.quantity_number": "数量应为数字，最多三位小数",
    "check.quantity_positive": "数量必须大于零",
    "check.item_unknown": "目录中没有这个物资：请输入编码、名称或别名",
    "check.item_guess": "目录中没有这个名称。您是否要找：{names}？",
    "plan.callup_moved": "事发地点、半径或储备类型已改动：请重新生成方案后再发起调用。",
    "stock.col.quantity": "结存",
    "stock.col.reserved": "已预留",
    "stock.col.available": "可用",
    "stock.held_by": "被调用单占用",
    "move.on_hand_available": "结存 {quantity} {unit}，已预留 {reserved}，可用 {available} {unit}",
    "map.tiles_offline": "在线底图不可用：显示本系统的区县位置与省、市名称；标记、距离圈和比例尺照常显示。",
  },
  en: {
    "common.table_region": "{caption} (table)",
    "results.question": "{what} · {place} · within {radius} km · asked at {time}",
    "results.searching": "Searching…",
    "results.failed": "The search failed: no results. Correct what is marked and search again.",
    "results.changed": "The search changed: the earlier results were cleared. Search again.",
    "check.quantity_missing": "Give a quantity",
    "check.quantity_number": "A number, with at most three decimals",
    "check.quantity_positive": "The quantity must be greater than zero",
    "check.item_unknown": "No such item in the catalogue: give a code, name or alias",
    "check.item_guess": "No item by that name. Did you mean: {names}?",
    "plan.callup_moved": "The incident location, radius or reserve types changed: build the plan again before raising a call-up.",
    "stock.col.quantity": "On hand",
    "stock.col.reserved": "Reserved",
    "stock.col.available": "Available",
    "stock.held_by": "Held by call-ups",
    "move.on_hand_available": "On hand {quantity} {unit}, reserved {reserved}, available {available} {unit}",
    "map.tiles_offline":
      "Online map unavailable: showing our own county points and province and city names; markers, rings and the scale still show.",
  },
});
