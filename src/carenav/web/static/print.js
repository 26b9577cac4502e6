// Buttons marked data-print open the browser's print dialog (the page's print styles keep only the content).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
