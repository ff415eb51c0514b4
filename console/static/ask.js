// One modal question for the incident's actions: a reason, a choice, a confirmation. A native <dialog> built
// here (so the page's layout needs no markup for it), with a heading and labelled fields; Esc or Cancel answers
// null, and the keyboard goes back to whatever opened it.
let dialog = null;

function build() {
  dialog = document.createElement("dialog");
  dialog.id = "ask-dialog";
  dialog.setAttribute("aria-labelledby", "ask-title");
  dialog.innerHTML = `<form method="dialog" id="ask-form" novalidate>
    <h2 id="ask-title"></h2><p id="ask-text"></p><div id="ask-fields"></div>
    <p id="ask-error" class="error" role="alert"></p>
    <menu><button type="button" id="ask-cancel" class="quiet">Cancel</button><button type="button" id="ask-extra" class="quiet" hidden></button><button type="submit" id="ask-ok">OK</button></menu>
  </form>`;
  document.body.append(dialog);
}

function field(spec) {
  const label = document.createElement("label");
  label.textContent = `${spec.label} `;
  let input;
  if (spec.check) {  // a box to tick: "yes" when ticked
    input = document.createElement("input");
    input.type = "checkbox";
    label.classList.add("check");
  } else if (spec.options) {
    input = document.createElement("select");
    for (const [value, text] of spec.options) input.append(new Option(text, value, false, value === spec.value));
  } else if (spec.long) {
    input = document.createElement("textarea");
    input.rows = 2;
  } else {
    input = document.createElement("input");
    input.autocomplete = "off";
  }
  input.name = spec.name;
  input.id = spec.id || `ask-${spec.name}`;
  if (spec.value != null) input.value = spec.value;  // a list's too: its default, not whichever option comes first
  if (spec.maxlength) input.maxLength = spec.maxlength;
  if (spec.check) label.prepend(input); else label.append(input);
  if (spec.suggest) label.append(suggestions(input, spec.suggest));
  return label;
}

// A field's suggestions (suggest: async text → labels) in a datalist of its own, asked once typing pauses.
function suggestions(input, suggest) {
  const list = document.createElement("datalist");
  list.id = `${input.id}-list`;
  input.setAttribute("list", list.id);
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const labels = await suggest(input.value.trim()).catch(() => []);
      list.replaceChildren(...labels.map((label) => new Option("", label)));
    }, 200);
  });
  return list;
}

// ask({title, text, fields: [{name, label, id?, options?, check?, required?, long?, value?, suggest?}], ok, no,
// extra, danger, safe}) → {name: value} | null; `extra` names a third way out, answered {extra: true}; `safe`: the
// keyboard starts on Cancel (a question whose OK is the risky answer), not on the first field or OK.
export function ask({ title, text = "", fields = [], ok = "OK", no = "Cancel", extra = "", danger = false, safe = false }) {
  if (!dialog) build();
  const opener = document.activeElement;
  dialog.querySelector("#ask-title").textContent = title;
  dialog.querySelector("#ask-text").textContent = text;
  dialog.querySelector("#ask-error").textContent = "";
  dialog.querySelector("#ask-fields").replaceChildren(...fields.map(field));
  const okButton = dialog.querySelector("#ask-ok");
  okButton.textContent = ok;
  okButton.className = danger ? "danger" : "";
  dialog.querySelector("#ask-cancel").textContent = no;
  const extraButton = dialog.querySelector("#ask-extra");
  extraButton.textContent = extra;
  extraButton.hidden = !extra;
  dialog.setAttribute("role", fields.length ? "dialog" : "alertdialog");
  return new Promise((resolve) => {
    const form = dialog.querySelector("#ask-form");
    const finish = (answer) => {
      form.onsubmit = null; dialog.onclose = null; dialog.querySelector("#ask-cancel").onclick = null;
      extraButton.onclick = null;
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    form.onsubmit = (e) => {
      e.preventDefault();
      const answer = {};
      for (const spec of fields) {
        const input = form.elements[spec.name];
        const value = spec.check ? (input.checked ? "yes" : "") : input.value.trim();
        if (spec.required && !value) {
          dialog.querySelector("#ask-error").textContent = spec.check ? `Tick "${spec.label}" to go on.` : `${spec.label}: required.`;
          form.elements[spec.name].focus();
          return;
        }
        answer[spec.name] = value;
      }
      finish(answer);
    };
    dialog.querySelector("#ask-cancel").onclick = () => finish(null);
    extraButton.onclick = () => finish({ extra: true });
    dialog.onclose = () => finish(null);  // Esc
    dialog.showModal();
    const first = form.querySelector("#ask-fields input, #ask-fields select, #ask-fields textarea");
    (safe ? dialog.querySelector("#ask-cancel") : first || okButton).focus();
  });
}
