import type { FastifyPluginAsync } from 'fastify';
import { notFound, notImplemented } from '../../translate/errors.js';

/** Burrow has no managed plugins: the list is empty and every named plugin is missing. */
export const pluginRoutes: FastifyPluginAsync = async (app) => {
  app.get('/plugins', async () => []);
  app.get('/plugins/privileges', async () => []);
  app.get<{ Params: { name: string } }>('/plugins/:name/json', async (request) => {
    throw notFound(`plugin "${request.params.name}" not found`);
  });
  app.delete<{ Params: { name: string } }>('/plugins/:name', async (request) => {
    throw notFound(`plugin "${request.params.name}" not found`);
  });
  for (const url of ['/plugins/pull', '/plugins/create', '/plugins/:name/enable', '/plugins/:name/disable', '/plugins/:name/upgrade', '/plugins/:name/push', '/plugins/:name/set']) {
    app.post(url, async () => {
      throw notImplemented('Burrow does not support managed plugins');
    });
  }
};
