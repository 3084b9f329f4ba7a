// A need is checked as it is typed, before it can join a plan: the message sits next to its field
// (aria-invalid, aria-describedby), like the API's own field errors (dom.js showFormErrors).

import { el } from "./dom.js";

/** Show `message` under `input` (or clear it when empty). */
export function showNeedProblem(input, message) {
  const id = `${input.id}-check`;
  document.getElementById(id)?.remove();
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((one) => one && one !== id);
  if (!message) {
    input.removeAttribute("aria-invalid");
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
    return;
  }
  (input.closest(".field") || input).append(el("p", { class: "field-error", id, text: message }));
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [...described, id].join(" "));
}
