// The key questions of the call's type (the types file's `questions`), shown as soon as the type is known, picked
// or read from the narrative, and answered in the form. Answers are kept by question while the type changes (a
// question two types share keeps its answer), and only the answered ones go with the call.
import { $, esc } from "./common.js";

const answers = new Map();  // question → answer, for this call
let shown = [];

export function showQuestions(type) {
  const questions = type?.questions || [];
  if (questions.join("\n") === shown.join("\n")) return;
  keep();
  shown = questions;
  const box = $("call-questions");
  box.hidden = !questions.length;
  box.innerHTML = questions.length ? `<legend>Ask: ${esc(type.name)}</legend>` + questions.map((q, i) =>
    `<label class="question">${esc(q)} <input id="call-answer-${i}" data-question="${esc(q)}" autocomplete="off"
      maxlength="500" value="${esc(answers.get(q) || "")}"></label>`).join("") : "";
}

function keep() {
  for (const input of $("call-questions").querySelectorAll("input[data-question]")) {
    answers.set(input.dataset.question, input.value);
  }
}

export function answered() {
  keep();
  return shown.map((question) => ({ question, answer: (answers.get(question) || "").trim() }))
    .filter((a) => a.answer);
}

export function clearQuestions() {
  answers.clear(); shown = [];
  $("call-questions").innerHTML = ""; $("call-questions").hidden = true;
}

// Enter in an answer goes on to the next question (the form's own Enter takes the call from the last one).
export function nextQuestion(input) {
  const inputs = [...$("call-questions").querySelectorAll("input[data-question]")];
  const next = inputs[inputs.indexOf(input) + 1];
  if (next) { next.focus(); return true; }
  return false;
}

export function questionsStarted() {
  keep();
  return [...answers.values()].some((a) => a.trim());
}
