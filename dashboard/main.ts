import { render } from 'preact';
import './styles.css';
import { App } from './app.js';
import { html } from './html.js';
import { startRouter } from './router.js';

startRouter();
const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
