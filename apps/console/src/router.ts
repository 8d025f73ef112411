import { createRouter, createWebHashHistory } from 'vue-router'
import { useSession } from './stores/session'

// Which roles see which page (the node enforces the same with its access table).
export const pages = [
  { path: '/governance', name: 'governance', roles: ['admin'], component: () => import('./views/GovernanceView.vue') },
  { path: '/audit', name: 'audit', roles: ['auditor', 'admin'], component: () => import('./views/AuditView.vue') },
  { path: '/assess', name: 'assess', roles: ['institution'], component: () => import('./views/AssessView.vue') },
  { path: '/consents', name: 'consents', roles: ['registrar'], component: () => import('./views/ConsentView.vue') },
  { path: '/accesses', name: 'accesses', roles: ['registrar', 'auditor', 'admin'], component: () => import('./views/AccessView.vue') },
  { path: '/policies', name: 'policies', roles: ['department', 'auditor', 'admin'], component: () => import('./views/PolicyView.vue') },
  { path: '/ledger', name: 'ledger', roles: ['department', 'auditor', 'admin', 'institution'], component: () => import('./views/LedgerView.vue') },
  { path: '/node', name: 'node', roles: [] as string[], component: () => import('./views/NodeView.vue') },
]

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
    { path: '/', name: 'home', component: () => import('./views/HomeView.vue') },
    ...pages.map(({ path, name, component }) => ({ path, name, component })),
  ],
})

router.beforeEach((to) => {
  const session = useSession()
  if (to.name !== 'login' && !session.loggedIn) return { name: 'login' }
  return true
})
