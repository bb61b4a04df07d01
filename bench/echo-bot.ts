/**
 * The yardstick of bench/throughput.ts: a bare botbuilder echo bot on the same stack as
 * Timebox — botbuilder's CloudAdapter (no app id: local mode, as the bot runs in the
 * benchmarks) behind express — that answers every message with its text through the Bot
 * Connector, as Timebox answers a `request`. PORT from the environment, loopback only.
 */
import express from 'express';
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';

const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
const bot = new ActivityHandler();
bot.onMessage(async (context, next) => {
  await context.sendActivity(`echo: ${context.activity.text}`);
  await next();
});

const app = express();
app.use('/api/messages', express.json({ limit: '256kb' }));
app.post('/api/messages', (req, res) => adapter.process(req, res, (context) => bot.run(context)));
app.get(['/healthz', '/readyz'], (_req, res) => void res.json({ status: 'ok' }));
app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
