// The team page: actions that cannot be undone (a token replaced, an account disabled) ask first,
// saying what will be lost. The forms post without script too; this only adds the question.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    const question = form.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
}
